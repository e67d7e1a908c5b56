# Helpers that make every module's library, test and benchmark targets the same way.
find_package(PkgConfig REQUIRED)
find_package(GTest REQUIRED)
find_package(Threads REQUIRED)

set(LEADSCORE_WARNINGS -Wall -Wextra -Wpedantic)
if(LEADSCORE_WERROR)
  list(APPEND LEADSCORE_WARNINGS -Werror)
endif()
if(LEADSCORE_NATIVE)
  set(LEADSCORE_ARCH -march=native)
else()
  set(LEADSCORE_ARCH -march=x86-64-v3)
endif()

add_library(leadscore_options INTERFACE)
target_compile_options(leadscore_options INTERFACE ${LEADSCORE_WARNINGS} ${LEADSCORE_ARCH})
target_include_directories(leadscore_options INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(leadscore_options INTERFACE
  LEADSCORE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
if(LEADSCORE_SANITIZE)
  target_compile_options(leadscore_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(leadscore_options INTERFACE -fsanitize=address,undefined)
endif()

# leadscore_module(NAME forest SRCS a.cpp b.cpp DEPS leadscore::core [PUBLIC_LIBS ...])
# Makes the static library leadscore_<NAME> with the alias leadscore::<NAME>.
function(leadscore_module)
  cmake_parse_arguments(M "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(leadscore_${M_NAME} STATIC ${M_SRCS})
  add_library(leadscore::${M_NAME} ALIAS leadscore_${M_NAME})
  target_link_libraries(leadscore_${M_NAME} PUBLIC leadscore_options ${M_DEPS})
endfunction()

# Every unit-labelled test executable; the sanitizer pass builds only this.
add_custom_target(unit_tests)

# leadscore_test(NAME forest_test SRCS forest_test.cpp DEPS leadscore::forest [LABELS unit]
#                [TEST_FILTER gtest-filter])
# A GoogleTest executable registered with CTest. Label `unit` (default) runs in the
# sanitizer build too; `integration` tests start real servers and run in the main build only.
# TEST_FILTER registers only the matching tests (register the others with their own labels).
function(leadscore_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT;TEST_FILTER" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  # Integration tests find the real binary through LEADSCORE_BIN (tests/ is added after src/).
  # Only they wait for it to be linked, so unit tests (and the sanitizer build, which builds
  # just the `unit_tests` target) don't rebuild the whole program.
  if(TARGET leadscore)
    target_compile_definitions(${T_NAME} PRIVATE LEADSCORE_BIN="$<TARGET_FILE:leadscore>")
    if("integration" IN_LIST T_LABELS)
      add_dependencies(${T_NAME} leadscore)
    endif()
  endif()
  if("unit" IN_LIST T_LABELS)
    add_dependencies(unit_tests ${T_NAME})
  endif()
  set(filter)
  if(T_TEST_FILTER)
    set(filter TEST_FILTER ${T_TEST_FILTER})
  endif()
  gtest_discover_tests(${T_NAME} ${filter}
    PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()
include(GoogleTest)
