# cmake -DBUILD_DIR=<build> -DWORK_DIR=<scratch> -DCONSUMER_DIR=<consumer/>
#       -DC_COMPILER=cc -DSANITIZE=<address,...|""> -DEXPECT_VERSION=0.2.0
#       -DEXPECT_SOFILE=libflock.so.1.2.0 -P check_install.cmake
#
# Installs components libflock-runtime (the shared library) and libflock
# (everything else of the SDK) of BUILD_DIR into WORK_DIR/prefix, then builds
# and runs: a program compiled with `pkg-config --cflags --libs flock`, and
# a CMake project using find_package(flock) with flock::flock and
# flock::flock_static.
cmake_minimum_required(VERSION 3.18)
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

# A consumer of a sanitized build must be linked with the same runtime.
set(san_flags "")
if(SANITIZE)
  set(san_flags -fsanitize=${SANITIZE})
endif()

foreach(component libflock-runtime libflock)
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
    --component ${component})
endforeach()

file(GLOB_RECURSE sonames ${prefix}/*/libflock.so.*)
file(GLOB_RECURSE pcs ${prefix}/*/flock.pc)
file(GLOB_RECURSE cfgs ${prefix}/*/flockConfig.cmake)
foreach(f ${EXPECT_SOFILE} libflock.a include/flock.h
    include/flock/api.h flockConfigVersion.cmake flockTargets.cmake)
  file(GLOB_RECURSE found ${prefix}/*${f})
  if(NOT found)
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
list(GET pcs 0 pc)
get_filename_component(pcdir ${pc} DIRECTORY)
get_filename_component(libdir ${pcdir} DIRECTORY)

# 1. pkg-config, as a Makefile would use it.
set(ENV{PKG_CONFIG_PATH} ${pcdir})
run(pkg-config --modversion flock)
string(STRIP "${run_out}" v)
if(NOT v STREQUAL EXPECT_VERSION)
  message(FATAL_ERROR "pkg-config says version ${v}, expected ${EXPECT_VERSION}")
endif()
run(pkg-config --print-requires-private flock)
foreach(dep libcurl jansson sqlite3 libcrypto)
  if(NOT run_out MATCHES "(^|\n)${dep}(\n|$)")
    message(FATAL_ERROR "flock.pc: ${dep} missing from Requires.private:\n${run_out}")
  endif()
endforeach()
run(pkg-config --cflags --libs flock)
string(STRIP "${run_out}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${C_COMPILER} ${san_flags} -std=c99 -Wall -Werror
  ${CONSUMER_DIR}/main.c ${flags} -o ${WORK_DIR}/consumer_pkgconfig)
set(ENV{LD_LIBRARY_PATH} ${libdir})
run(${WORK_DIR}/consumer_pkgconfig)
message(STATUS "pkg-config consumer: ${run_out}")

# 2. find_package(flock), shared and static.
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake-consumer
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${C_COMPILER}
  "-DCMAKE_C_FLAGS=${san_flags}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-consumer)
foreach(kind shared static)
  run(${WORK_DIR}/cmake-consumer/consumer_${kind})
  message(STATUS "find_package consumer (${kind}): ${run_out}")
endforeach()
