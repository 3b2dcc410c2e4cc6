# FLOCK_ABI_VERSION from include/flock/common.h, its single home: the
# SONAME is libflock.so.${FLOCK_ABI_VERSION} (docs/libflock.md, "ABI and
# SONAME"). Included by src/lib/CMakeLists.txt and tests/headers/.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/flock/common.h _flock_abi
  REGEX "^#define FLOCK_ABI_VERSION [0-9]+")
if(NOT _flock_abi MATCHES "FLOCK_ABI_VERSION ([0-9]+)")
  message(FATAL_ERROR "include/flock/common.h defines no FLOCK_ABI_VERSION")
endif()
set(FLOCK_ABI_VERSION ${CMAKE_MATCH_1})
