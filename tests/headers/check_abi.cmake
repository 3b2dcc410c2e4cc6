# cmake -DLAYOUT=<abi_layout exe> -DSHARED=<libflock.so> -DNM=nm
#       -DINCLUDE_DIR=include -DBASELINE_DIR=tests/headers/abi [-DRECORD=ON]
#       -P check_abi.cmake
#
# The ABI check (docs/libflock.md, "ABI and SONAME"). abi_layout prints
# every public struct's layout and every public constant; this script adds
# the functions libflock.so exports and compares all of it with the layout
# recorded for the same FLOCK_ABI_VERSION in BASELINE_DIR/libflock-abi<N>.txt.
# What a program built against the recorded headers relies on must still
# hold:
#   - every recorded function is still exported;
#   - every recorded member keeps its offset and size;
#   - a "frozen" struct keeps its size; a "params" struct grows only with a
#     higher version number; none shrinks ("lib" structs may grow);
#   - every recorded constant keeps its value (a *_VERSION may go up).
# Additions (functions, structs, members at the end, constants) pass.
# Anything else fails, naming what moved: either undo it, or raise
# FLOCK_ABI_VERSION (a new SONAME) and record the new layout with
#   cmake --build <build dir> --target abi-record
# It also checks that abi_layout.c lists every struct the headers define.
cmake_minimum_required(VERSION 3.18)
if(NOT NM)
  set(NM nm)
endif()
set(failures 0)
macro(fail msg)
  message(SEND_ERROR "${msg}")
  math(EXPR failures "${failures} + 1")
endmacro()

execute_process(COMMAND ${LAYOUT} OUTPUT_VARIABLE layout RESULT_VARIABLE rc
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "abi_layout failed (${rc}):\n${err}")
endif()
if(NOT layout MATCHES "^abi ([0-9]+)\n")
  message(FATAL_ERROR "abi_layout printed no ABI version")
endif()
set(abi ${CMAKE_MATCH_1})

# Every `typedef struct { ... } flock_x;` of the headers is listed.
file(GLOB headers ${INCLUDE_DIR}/flock.h ${INCLUDE_DIR}/flock/*.h)
foreach(h ${headers})
  file(STRINGS ${h} lines)
  set(in_struct OFF)
  foreach(line IN LISTS lines)
    if(line MATCHES "^typedef struct {")
      set(in_struct ON)
    elseif(in_struct AND line MATCHES "^} (flock_[a-z0-9_]+);")
      set(in_struct OFF)
      if(NOT layout MATCHES "\nstruct ${CMAKE_MATCH_1} ")
        get_filename_component(hn ${h} NAME)
        fail("${hn}: struct ${CMAKE_MATCH_1} is not listed in tests/headers/abi_layout.c")
      endif()
    endif()
  endforeach()
endforeach()

# The exported functions.
execute_process(COMMAND ${NM} -D --defined-only ${SHARED} OUTPUT_VARIABLE dyn
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} ${SHARED} failed")
endif()
string(REGEX MATCHALL "[0-9a-fA-F]+ T (flock_[a-z0-9_]+)" funcs "${dyn}")
set(func_lines "")
foreach(f ${funcs})
  string(REGEX REPLACE ".* T ([^@]+).*" "func \\1" f "${f}")
  list(APPEND func_lines "${f}")
endforeach()
list(SORT func_lines)
string(REPLACE ";" "\n" func_text "${func_lines}")
set(current "${layout}${func_text}\n")
set(baseline ${BASELINE_DIR}/libflock-abi${abi}.txt)

if(RECORD)
  file(WRITE ${baseline} "${current}")
  message(STATUS "recorded ${baseline}")
  return()
endif()
if(NOT EXISTS ${baseline})
  message(FATAL_ERROR "no recorded layout for ABI ${abi} (${baseline}): "
    "after raising FLOCK_ABI_VERSION, record it with "
    "`cmake --build <build dir> --target abi-record` and commit it")
endif()

# index the current layout: name -> "values"
string(REPLACE "\n" ";" cur_lines "${current}")
foreach(line IN LISTS cur_lines)
  if(line MATCHES "^(struct|member|const|func) ([^ ]+)(.*)$")
    set("cur_${CMAKE_MATCH_1}_${CMAKE_MATCH_2}" "x${CMAKE_MATCH_3}")
  endif()
endforeach()

file(STRINGS ${baseline} base_lines)
set(checked 0)
foreach(line IN LISTS base_lines)
  math(EXPR checked "${checked} + 1")
  if(line MATCHES "^func (.+)$")
    if(NOT DEFINED "cur_func_${CMAKE_MATCH_1}")
      fail("function ${CMAKE_MATCH_1} is no longer exported")
    endif()
  elseif(line MATCHES "^member ([^ ]+) ([0-9]+) ([0-9]+)$")
    set(name ${CMAKE_MATCH_1})
    set(was "x ${CMAKE_MATCH_2} ${CMAKE_MATCH_3}")
    if(NOT DEFINED "cur_member_${name}")
      fail("member ${name} is gone")
    elseif(NOT "${cur_member_${name}}" STREQUAL "${was}")
      string(SUBSTRING "${cur_member_${name}}" 1 -1 now)
      fail("member ${name} moved or changed size: was (offset size) ${CMAKE_MATCH_2} ${CMAKE_MATCH_3}, now${now}")
    endif()
  elseif(line MATCHES "^struct ([^ ]+) ([0-9]+) ([0-9]+) ([a-z]+) ([^ ]+) (-?[0-9]+)$")
    set(name ${CMAKE_MATCH_1})
    set(size ${CMAKE_MATCH_2})
    set(kind ${CMAKE_MATCH_4})
    set(ver ${CMAKE_MATCH_6})
    if(NOT DEFINED "cur_struct_${name}")
      fail("struct ${name} is gone")
      continue()
    endif()
    string(REGEX MATCH "^x ([0-9]+) ([0-9]+) ([a-z]+) [^ ]+ (-?[0-9]+)$" m
      "${cur_struct_${name}}")
    set(now_size ${CMAKE_MATCH_1})
    set(now_kind ${CMAKE_MATCH_3})
    set(now_ver ${CMAKE_MATCH_4})
    if(NOT now_kind STREQUAL kind)
      fail("struct ${name} was ${kind}, is now ${now_kind}")
    endif()
    if(now_size LESS size)
      fail("struct ${name} shrank from ${size} to ${now_size} bytes")
    elseif(kind STREQUAL "frozen" AND NOT now_size EQUAL size)
      fail("struct ${name} is frozen (arrays of it cross the API) but grew from ${size} to ${now_size} bytes")
    elseif(kind STREQUAL "params" AND now_size GREATER size AND NOT now_ver GREATER ver)
      fail("struct ${name} grew from ${size} to ${now_size} bytes without a higher version (still ${now_ver})")
    endif()
  elseif(line MATCHES "^const ([^ ]+) (-?[0-9]+)$")
    set(name ${CMAKE_MATCH_1})
    set(val ${CMAKE_MATCH_2})
    if(NOT DEFINED "cur_const_${name}")
      fail("constant ${name} is gone")
    else()
      string(SUBSTRING "${cur_const_${name}}" 2 -1 now)
      if(NOT now EQUAL val)
        if(NOT (name MATCHES "_VERSION$" AND now GREATER val))
          fail("constant ${name} changed from ${val} to ${now}")
        endif()
      endif()
    endif()
  endif()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} ABI break(s) against ${baseline}: undo "
    "them, or raise FLOCK_ABI_VERSION in include/flock/common.h and record "
    "the new layout (cmake --build <build dir> --target abi-record)")
endif()
message(STATUS "ABI ${abi}: ${checked} recorded items still hold (${baseline})")
