# cmake -DPAGES="a.1,b.8" -P check_man.cmake
#
# Each page renders with man-db and groff without a warning, as lintian
# checks installed pages (man --warnings, UTF-8, 80 columns). Skipped
# (exit 0, with a note) where man is not installed.
cmake_minimum_required(VERSION 3.18)
find_program(MAN man)
if(NOT MAN)
  message(STATUS "man not found: not checked")
  return()
endif()
set(ENV{LC_ALL} C.UTF-8)
set(ENV{MANROFFSEQ} "")
set(ENV{MANWIDTH} 80)
set(bad "")
string(REPLACE "," ";" PAGES "${PAGES}")
foreach(page ${PAGES})
  execute_process(COMMAND ${MAN} --warnings -E UTF-8 -l -Tutf8 -Z ${page}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR err)
    list(APPEND bad "${page} (${rc}):\n${err}")
  else()
    message(STATUS "${page}: renders without warnings")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n" text)
  message(FATAL_ERROR "man page warnings:\n${text}")
endif()
