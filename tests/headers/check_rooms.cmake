# cmake -DSOURCE_DIR=<repo> -P check_rooms.cmake
#
# flockd's rooms and the rules between them (docs/architecture.md): a file
# of a room includes only its own room and the rooms that room may use, so
# there is no cycle; and the engine speaks no HTTP (no status literal, no
# reason phrase) and resolves no names. main.c and config.c, the program,
# may use every room.
cmake_minimum_required(VERSION 3.18)
set(may_base "base")
set(may_store "store;base")
set(may_engine "engine;store;base")
set(may_delivery "delivery;engine;store;base")
set(may_http "http;engine;base")
set(problems "")
foreach(room base store engine delivery http)
  file(GLOB files ${SOURCE_DIR}/src/flockd/${room}/*.c
    ${SOURCE_DIR}/src/flockd/${room}/*.h)
  foreach(f ${files})
    file(RELATIVE_PATH rel ${SOURCE_DIR} ${f})
    file(STRINGS ${f} includes REGEX "^#include \"[a-z]+/")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include \"([a-z]+)/.*" "\\1" to "${line}")
      if(to STREQUAL "common" OR to STREQUAL "flock")
        continue()
      endif()
      list(FIND may_${room} ${to} ok)
      if(ok LESS 0)
        list(APPEND problems "${rel}: ${room}/ may not include ${to}/")
      endif()
    endforeach()
  endforeach()
endforeach()
file(GLOB engine ${SOURCE_DIR}/src/flockd/engine/*.c
  ${SOURCE_DIR}/src/flockd/engine/*.h)
foreach(f ${engine})
  file(RELATIVE_PATH rel ${SOURCE_DIR} ${f})
  file(STRINGS ${f} http REGEX
    "(^|[^0-9A-Za-z_.])(200|201|204|400|401|403|404|405|409|410|413|422|429|500|503)([^0-9]|$)|\"(OK|Created|Bad Request|Unauthorized|Forbidden|Not Found|Conflict|Too Many Requests|Internal Server Error|Service Unavailable)\"")
  if(http)
    list(APPEND problems "${rel}: an HTTP status or reason phrase: ${http}")
  endif()
  file(STRINGS ${f} dns REGEX
    "(getaddrinfo|gethostbyname|getnameinfo|res_query)[ \t]*\\(|<netdb.h>|<curl/|<microhttpd.h>")
  if(dns)
    list(APPEND problems "${rel}: DNS or HTTP library in the engine: ${dns}")
  endif()
endforeach()
if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "flockd's rooms:\n  ${text}")
endif()
message(STATUS "flockd's rooms keep their rules")
