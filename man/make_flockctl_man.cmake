# cmake -DFLOCKCTL=<flockctl> -DIN=flockctl.1.in -DOUT=flockctl.1
#       -DVERSION=<x.y.z> -P make_flockctl_man.cmake
#
# flockctl(1) is written by hand but for its COMMANDS section, which
# `flockctl help --man` prints from flockctl's command table: the page
# never misses a command or an option.
cmake_minimum_required(VERSION 3.18)
execute_process(COMMAND ${FLOCKCTL} help --man OUTPUT_VARIABLE commands
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FLOCKCTL} help --man failed (${rc})")
endif()
file(READ ${IN} text)
string(REPLACE "@COMMANDS@\n" "${commands}" text "${text}")
string(REPLACE "@PROJECT_VERSION@" "${VERSION}" text "${text}")
file(WRITE ${OUT} "${text}")
