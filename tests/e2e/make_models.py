"""CTest fixture: generates small data sets and trains the models the HTTP scoring tests serve.

Writes into <out>: real_estate/ (models/<v> + latest), real_estate_b/ (another seed: a second,
different model for reload tests) and seed/ (the original prototype's 21-field schema).
Usage: make_models.py <leadscore binary> <source dir> <out dir>"""
import os
import shutil
import subprocess
import sys


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main():
    binary, src, out = sys.argv[1:4]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, profile, seed, schema in [("real_estate", None, 11, "real_estate.json"),
                                        ("real_estate_b", None, 12, "real_estate.json"),
                                        ("seed", "seed", 13, "seed.json")]:
        csv = os.path.join(out, name + ".csv")
        gen = [binary, "generate", "--rows", "3000", "--seed", str(seed), "--out", csv]
        if profile:
            gen += ["--profile", profile]
        run(*gen)
        run(binary, "train", "--data", csv, "--schema", os.path.join(src, "schemas", schema),
            "--out", os.path.join(out, name))
        os.unlink(csv)  # the data set has (synthetic) PII columns: keep nothing at rest
    print("models ready in", out)


if __name__ == "__main__":
    main()
