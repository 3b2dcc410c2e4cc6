# cmake -DSHARED=libflock.so -DSTATIC=libflock.a -DSONAME=libflock.so.1
#       -DVERSION_NODE=FLOCK_1 -DINCLUDE_DIR=include -DNM=nm -DREADELF=readelf
#       -P check_symbols.cmake
#
# The ABI surface of libflock: see docs/libflock.md, "ABI and SONAME".
cmake_minimum_required(VERSION 3.18)
if(NOT NM)
  set(NM nm)
endif()
if(NOT READELF)
  set(READELF readelf)
endif()
set(failures 0)
macro(fail msg)
  message(SEND_ERROR "${msg}")
  math(EXPR failures "${failures} + 1")
endmacro()

function(run out)
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE _o RESULT_VARIABLE _rc
    ERROR_VARIABLE _e)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${ARGN} failed (${_rc}): ${_e}")
  endif()
  set(${out} "${_o}" PARENT_SCOPE)
endfunction()

# 1. Dynamic symbols defined by the shared library. The version node
#    (FLOCK_<ABI>, type A) is not a symbol of the API, and must be the one
#    the SONAME calls for.
run(dyn ${NM} -D --defined-only ${SHARED})
string(REPLACE "\n" ";" dyn "${dyn}")
set(exported "")
foreach(line ${dyn})
  if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) ([^ @]+)")
    continue()
  endif()
  set(type ${CMAKE_MATCH_1})
  set(name ${CMAKE_MATCH_2})
  if(type STREQUAL "A" AND name MATCHES "^FLOCK_[0-9]+$")
    if(VERSION_NODE AND NOT name STREQUAL VERSION_NODE)
      fail("version node is ${name}, expected ${VERSION_NODE}")
    endif()
    set(seen_node ${name})
    continue()
  endif()
  if(name MATCHES "^flock__")
    fail("internal symbol exported: ${name}")
  elseif(NOT name MATCHES "^flock_[a-z]")
    fail("symbol outside the flock_ namespace exported: ${name}")
  endif()
  list(APPEND exported ${name})
endforeach()
list(LENGTH exported n)
message(STATUS "${SHARED}: ${n} exported symbols, all flock_[a-z]*")
if(VERSION_NODE AND NOT seen_node)
  fail("no version node ${VERSION_NODE} in ${SHARED}")
endif()

# 2. SONAME.
run(dynsec ${READELF} -d ${SHARED})
if(NOT dynsec MATCHES "Library soname: \\[([^]]+)\\]")
  fail("${SHARED} has no SONAME")
elseif(NOT CMAKE_MATCH_1 STREQUAL SONAME)
  fail("SONAME is ${CMAKE_MATCH_1}, expected ${SONAME}")
else()
  message(STATUS "SONAME ${CMAKE_MATCH_1}")
endif()

# 3. Every function the public headers declare is defined and exported: a
#    declared but missing function is a link error for every user.
file(GLOB headers ${INCLUDE_DIR}/flock.h ${INCLUDE_DIR}/flock/*.h)
set(declared "")
foreach(h ${headers})
  file(READ ${h} text)
  string(REGEX MATCHALL "FLOCK_EXTERN\\([^)]*\\)[ \t\n]*flock_[a-z0-9_]+"
    decls "${text}")
  foreach(d ${decls})
    string(REGEX REPLACE ".*(flock_[a-z0-9_]+)$" "\\1" d "${d}")
    list(APPEND declared ${d})
  endforeach()
endforeach()
list(REMOVE_DUPLICATES declared)
foreach(d ${declared})
  if(NOT d IN_LIST exported)
    fail("declared in include/ but not exported: ${d}")
  endif()
endforeach()
list(LENGTH declared n)
message(STATUS "all ${n} functions declared in include/ are exported")

# 4. The static library defines no global name outside flock_ (flock__ is
#    allowed there: internal, but it cannot be hidden in an archive). Names
#    a compiler's instrumentation adds (__asan_*, __odr_asan*...) are not
#    ours.
run(sta ${NM} --defined-only -g ${STATIC})
string(REPLACE "\n" ";" sta "${sta}")
foreach(line ${sta})
  if(NOT line MATCHES "^[0-9a-fA-F]+ ([A-Za-z]) ([^ ]+)$")
    continue()
  endif()
  set(name ${CMAKE_MATCH_2})
  if(name MATCHES "^(__|\\.)")
    continue()
  endif()
  if(NOT name MATCHES "^flock_")
    fail("libflock.a defines a global outside flock_: ${name}")
  endif()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} symbol check(s) failed")
endif()
