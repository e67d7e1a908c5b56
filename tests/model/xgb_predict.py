"""Parity oracle: predicts with Python XGBoost from our model.json.

usage: xgb_predict.py MODEL_JSON FEATURES_CSV TYPES OUT_MARGIN OUT_PROB
FEATURES_CSV has no header, float32 values printed with 9 significant digits, `nan` = missing;
TYPES is a comma-separated list of q/c per column.
"""
import sys

import numpy as np
import xgboost as xgb

model_path, features_path, types, out_margin, out_prob = sys.argv[1:6]
x = np.loadtxt(features_path, delimiter=",", dtype=np.float32, ndmin=2)
booster = xgb.Booster(model_file=model_path)
d = xgb.DMatrix(x, missing=np.nan, feature_names=booster.feature_names,
                feature_types=types.split(","), enable_categorical=True)
np.savetxt(out_margin, booster.predict(d, output_margin=True), fmt="%.9g")
np.savetxt(out_prob, booster.predict(d), fmt="%.9g")
