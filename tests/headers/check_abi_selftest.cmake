# cmake <the check_abi.cmake arguments> -DWORK_DIR=<scratch> -P check_abi_selftest.cmake
#
# The ABI check must catch a break: feed check_abi.cmake doctored copies
# of the recorded layout, each as if the current build had broken one
# promise (a member moved, a frozen struct grown, a params struct grown
# without a new version, a struct shrunk, a constant changed, a function
# dropped, a struct gone), and require every one of them to fail, and
# the true record to pass.
cmake_minimum_required(VERSION 3.18)
execute_process(COMMAND ${LAYOUT} OUTPUT_VARIABLE layout)
if(NOT layout MATCHES "^abi ([0-9]+)\n")
  message(FATAL_ERROR "abi_layout printed no ABI version")
endif()
set(name libflock-abi${CMAKE_MATCH_1}.txt)
file(READ ${BASELINE_DIR}/${name} record)

set(args -DLAYOUT=${LAYOUT} -DSHARED=${SHARED} -DNM=${NM}
  -DINCLUDE_DIR=${INCLUDE_DIR} -DBASELINE_DIR=${WORK_DIR}
  -P ${CMAKE_CURRENT_LIST_DIR}/check_abi.cmake)

function(expect what text want_ok)
  file(REMOVE_RECURSE ${WORK_DIR})
  file(MAKE_DIRECTORY ${WORK_DIR})
  file(WRITE ${WORK_DIR}/${name} "${text}")
  execute_process(COMMAND ${CMAKE_COMMAND} ${args} RESULT_VARIABLE rc
    OUTPUT_QUIET ERROR_QUIET)
  if(want_ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "check_abi refused the true record (${what})")
  elseif(NOT want_ok AND rc EQUAL 0)
    message(FATAL_ERROR "check_abi missed an ABI break: ${what}")
  endif()
  message(STATUS "${what}: ${rc}")
endfunction()

# doctor(<regex> <replacement> <what>): the record as if it had been so
function(doctor re rep what)
  string(REGEX REPLACE "${re}" "${rep}" text "${record}")
  if(text STREQUAL record)
    message(FATAL_ERROR "self-test pattern no longer matches: ${what}")
  endif()
  expect("${what}" "${text}" FALSE)
endfunction()

expect("the true record" "${record}" TRUE)
doctor("member flock_customer.raw_json ([0-9]+)" "member flock_customer.raw_json 1\\1"
  "a member moved")
doctor("member flock_error.code 0 4" "member flock_error.code 0 2"
  "a member resized")
doctor("struct flock_http_header ([0-9]+)" "struct flock_http_header 1"
  "a frozen struct grown (recorded as smaller)")
doctor("struct flock_ingest_params ([0-9]+) ([0-9]+) params ([A-Z_]+) [0-9]+"
  "struct flock_ingest_params 8 \\2 params \\3 99"
  "a params struct grown without a higher version")
doctor("struct flock_meta ([0-9]+)" "struct flock_meta 9\\1"
  "a struct shrunk")
doctor("const FLOCK_EINVAL -2" "const FLOCK_EINVAL -7" "a constant changed")
doctor("\nfunc flock_version\n" "\nfunc flock_version\nfunc flock_gone\n"
  "a function dropped")
doctor("\nstruct flock_meta " "\nstruct flock_gone 8 8 lib - 0\nstruct flock_meta "
  "a struct gone")
