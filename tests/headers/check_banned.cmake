# cmake -DSOURCE_DIR=<repo> -P check_banned.cmake
#
# The curl-style ban (STYLE.md): no sprintf, vsprintf, strcpy, strcat,
# strtok, atoi, atol, atoll, sscanf or gets anywhere in our C code; use
# snprintf, memcpy, strtol and friends. Like curl's checksrc, a test rather
# than a #pragma poison, which system headers would trip over.
cmake_minimum_required(VERSION 3.18)
set(banned "sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|sscanf|gets")
set(hits "")
foreach(dir src examples tests bench fuzz)
  file(GLOB_RECURSE files ${SOURCE_DIR}/${dir}/*.c ${SOURCE_DIR}/${dir}/*.h)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "(^|[^A-Za-z0-9_])(${banned})[ \t]*\\(")
    if(lines)
      file(RELATIVE_PATH rel ${SOURCE_DIR} ${f})
      list(APPEND hits ${rel})
    endif()
  endforeach()
endforeach()
if(hits)
  list(JOIN hits "\n  " text)
  message(FATAL_ERROR "banned functions (${banned}) used in:\n  ${text}")
endif()
message(STATUS "no banned function in src, examples, tests, bench, fuzz")
