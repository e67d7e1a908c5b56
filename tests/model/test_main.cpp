// Test entry point: XGBoost's OpenMP threads spin while waiting by default, which makes
// training 10-100x slower when other processes share the cores (CI, parallel ctest). libgomp
// reads OMP_WAIT_POLICY when it is loaded, so set it and re-execute once.
#include <cstdlib>
#include <unistd.h>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then just run as we are
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
