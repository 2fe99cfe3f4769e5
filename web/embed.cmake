# web/embed.cmake: builds the live page's files into the aggregator.
#
# Included from daemon/aggregator/CMakeLists.txt, it sets TALLY_WEB_ASSETS_C
# to a C source in the build tree and the command that generates it; add that
# variable to the aggregator's sources. Run as a script (cmake -P) it does the
# generating: each file of web/ becomes a byte array with its URL path,
# content type and an ETag (a prefix of its SHA-256), in the table
# `page_assets[]` declared by daemon/aggregator/page.h. The page is thus part
# of the binary: an installed daemon needs no document root, and what it
# serves is exactly what was built and reviewed.

# URL path, file under web/, media type (all are UTF-8 text; the charset is
# added below because a ";" would split a CMake list). "/" is index.html.
set(TALLY_WEB_FILES
  "/|index.html|text/html"
  "/app.css|app.css|text/css"
  "/i18n.js|i18n.js|text/javascript"
  "/hemicycle.js|hemicycle.js|text/javascript"
  "/map.js|map.js|text/javascript"
  "/trend.js|trend.js|text/javascript"
  "/views.js|views.js|text/javascript"
  "/app.js|app.js|text/javascript"
)

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(TALLY_WEB_DIR ${CMAKE_CURRENT_LIST_DIR})
  set(TALLY_WEB_ASSETS_C ${CMAKE_BINARY_DIR}/web/page_assets.c)
  set(deps ${CMAKE_CURRENT_LIST_FILE})
  foreach(entry ${TALLY_WEB_FILES})
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 1 file)
    list(APPEND deps ${TALLY_WEB_DIR}/${file})
  endforeach()
  add_custom_command(
    OUTPUT ${TALLY_WEB_ASSETS_C}
    COMMAND ${CMAKE_COMMAND} -DTALLY_WEB_DIR=${TALLY_WEB_DIR} -DOUT=${TALLY_WEB_ASSETS_C}
            -P ${CMAKE_CURRENT_LIST_FILE}
    DEPENDS ${deps}
    COMMENT "Embedding the live page (web/) into the aggregator")
  return()
endif()

# Script mode: write ${OUT}.
set(body "/* Generated from web/ by web/embed.cmake; do not edit. */\n")
string(APPEND body "#include <stddef.h>\n\n#include \"page.h\"\n\n")
set(table "")
set(charset "; charset=utf-8")
set(i 0)
foreach(entry ${TALLY_WEB_FILES})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 url)
  list(GET parts 1 file)
  list(GET parts 2 ctype)
  file(READ ${TALLY_WEB_DIR}/${file} hex HEX)
  file(SHA256 ${TALLY_WEB_DIR}/${file} sha)
  string(SUBSTRING "${sha}" 0 20 etag)
  file(SIZE ${TALLY_WEB_DIR}/${file} size)
  # Sixteen bytes a line keeps the generated file readable in a debugger.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n\t" bytes "${bytes}")
  string(APPEND body "static const unsigned char asset${i}[] = {\n\t${bytes}0x00};\n\n")
  string(APPEND table "\t{\"${url}\", \"${ctype}${charset}\", \"\\\"${etag}\\\"\", asset${i}, ${size}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "const struct page_asset page_assets[] = {\n${table}};\n")
string(APPEND body "const size_t page_assets_count = ${i};\n")
file(WRITE ${OUT}.tmp "${body}")
# Only replace the output when it changed, so an unchanged page rebuilds nothing.
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
