#pragma once
// core: the lead schema, the Lead value, feature encoding, PII policy and errors.
// Every other module depends on core; core depends on nothing of ours.

#include "core/result.h"
#include "core/json_writer.h"
