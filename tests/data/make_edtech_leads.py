"""Makes edtech_leads.csv: a small, made-up online-course lead export in the shape of public
ed-tech lead data sets (spaces in column names, Yes/No booleans, `Select` placeholders from
unfilled web-form dropdowns, `NA` and empty cells), with made-up contact columns that the
schema marks as PII. Labels are drawn from a logistic model so a model can learn them.

usage: /usr/bin/python3 tests/data/make_edtech_leads.py > tests/data/edtech_leads.csv
"""
import csv
import math
import random
import sys

rng = random.Random(20240611)
ORIGINS = {"Landing Page Submission": 0.3, "API": -0.4, "Lead Add Form": 1.6, "Lead Import": -0.8}
SOURCES = {"Google": 0.1, "Direct Traffic": -0.2, "Olark Chat": -0.6, "Organic Search": 0.0,
           "Reference": 1.8, "Welingak Website": 1.5, "Referral Sites": -0.1}
ACTIVITY = {"Email Opened": 0.4, "SMS Sent": 1.2, "Olark Chat Conversation": -0.9,
            "Page Visited on Website": -0.2, "Converted to Lead": -0.6, "Email Bounced": -1.2}
OCCUPATION = {"Unemployed": -0.3, "Working Professional": 2.0, "Student": -0.5,
              "Businessman": 0.5, "Other": 0.0}
SPECIALIZATION = ["Finance Management", "Human Resource Management", "Marketing Management",
                  "Operations Management", "IT Projects Management", "Business Administration"]
CITY = ["Mumbai", "Thane & Outskirts", "Other Cities of Maharashtra", "Other Metro Cities",
        "Tier II Cities"]


def pick(d):
    return rng.choice(list(d))


def missing_token():
    return rng.choice(["", "NA", "Select"])


header = ["Prospect ID", "Lead Number", "Contact Name", "Email", "Phone", "Lead Origin",
          "Lead Source", "Do Not Email", "Do Not Call", "TotalVisits",
          "Total Time Spent on Website", "Page Views Per Visit", "Last Activity",
          "Specialization", "What is your current occupation", "City",
          "A free copy of Mastering The Interview", "Asymmetrique Activity Score", "Converted"]
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(header)
for i in range(480):
    origin, source, activity = pick(ORIGINS), pick(SOURCES), pick(ACTIVITY)
    occupation = pick(OCCUPATION)
    visits = min(int(rng.expovariate(1 / 3.5)), 40)
    time_spent = int(rng.expovariate(1 / 500)) if visits else 0
    views = round(rng.uniform(1, 5), 2) if visits else 0
    do_not_email = rng.random() < 0.08
    score = rng.randint(10, 18)
    z = (-1.6 + ORIGINS[origin] + 0.6 * SOURCES[source] + ACTIVITY[activity] +
         OCCUPATION[occupation] + 0.0018 * time_spent - (1.0 if do_not_email else 0) +
         0.1 * (score - 14))
    converted = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
    row = ["xl-" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(10)), 600000 + i, f"Test Person {i}",
           f"person{i}@example.invalid", f"+91 90000 {i:05d}", origin, source,
           "Yes" if do_not_email else "No", "Yes" if rng.random() < 0.02 else "No",
           visits, time_spent, views, activity,
           rng.choice(SPECIALIZATION), occupation, rng.choice(CITY),
           rng.choice(["Yes", "No"]), score, converted]
    # Unfilled form fields and export gaps, as such exports have them.
    for col, rate in ((9, 0.03), (11, 0.03), (12, 0.02), (13, 0.3), (14, 0.25), (15, 0.35),
                      (17, 0.4)):
        if rng.random() < rate:
            row[col] = missing_token() if col in (13, 14, 15) else rng.choice(["", "NA"])
    out.writerow(row)
