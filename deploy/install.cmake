# deploy/install.cmake: where `cmake --install` puts tally (FHS places under
# the prefix) and the Debian package `cpack -G DEB` makes from it. Included at
# the end of the top-level CMakeLists.txt, once every target exists.
#
#   sbin/                     tally-aggregator, tally-node (daemons)
#   bin/                      tallyctl
#   lib/systemd/system/       the units (ExecStart= follows the prefix), the
#                             aggregator's optional .socket
#   lib/sysusers.d/tally.conf the tally account
#   lib/tmpfiles.d/tally.conf the node's spool folder
#   share/tally/              pki.sh, election.py (+ regions-kz.json), web/ (the live page)
#   share/doc/tally/          operations.md, examples/*.ini, prometheus/ (scrape
#                             example, rules), grafana/ (the dashboard)
#
# A package is built with prefix /usr: cpack installs into its staging folder
# with CMAKE_INSTALL_PREFIX set to CPACK_PACKAGING_INSTALL_PREFIX, and the
# units are written at install time so they name the binaries where the
# package puts them.

set(TALLY_DEPLOY_DIR ${CMAKE_CURRENT_LIST_DIR})
set(TALLY_SYSTEMD_SRC ${CMAKE_SOURCE_DIR}/systemd)

# The daemons' own CMakeLists may install them too; the same file to the
# same place twice is harmless, and the package needs them either way.
foreach(t tally-aggregator tally-node)
  if(TARGET ${t})
    install(TARGETS ${t} RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
  endif()
endforeach()
if(TARGET tallyctl)
  install(TARGETS tallyctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

foreach(unit tally-aggregator.service tally-node.service)
  install(CODE "
    set(dest \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
    file(READ \"${TALLY_SYSTEMD_SRC}/${unit}\" text)
    string(REPLACE \"=/usr/sbin/\" \"=\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/\" text \"\${text}\")
    file(MAKE_DIRECTORY \"\${dest}\")
    message(STATUS \"Installing: \${dest}/${unit}\")
    file(WRITE \"\${dest}/${unit}\" \"\${text}\")
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${dest}/${unit}\")
  ")
endforeach()
install(FILES ${TALLY_SYSTEMD_SRC}/tally-aggregator.socket DESTINATION lib/systemd/system)
install(FILES ${TALLY_SYSTEMD_SRC}/tally.sysusers DESTINATION lib/sysusers.d RENAME tally.conf)
install(FILES ${TALLY_SYSTEMD_SRC}/tally.tmpfiles DESTINATION lib/tmpfiles.d RENAME tally.conf)

install(PROGRAMS ${TALLY_DEPLOY_DIR}/pki.sh ${TALLY_DEPLOY_DIR}/election.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tally)
# election.py mazhilis-2023 reads the regions' names and tiles beside itself.
install(FILES ${TALLY_DEPLOY_DIR}/regions-kz.json DESTINATION ${CMAKE_INSTALL_DATADIR}/tally)
if(EXISTS ${CMAKE_SOURCE_DIR}/web)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tally/web
          PATTERN "*.cmake" EXCLUDE)
endif()
install(FILES ${TALLY_DEPLOY_DIR}/examples/aggregator.ini ${TALLY_DEPLOY_DIR}/examples/node.ini
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${TALLY_DEPLOY_DIR}/prometheus/prometheus.yml ${TALLY_DEPLOY_DIR}/prometheus/tally.rules.yml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/prometheus)
install(FILES ${TALLY_DEPLOY_DIR}/grafana/tally.json DESTINATION ${CMAKE_INSTALL_DOCDIR}/grafana)
if(EXISTS ${CMAKE_SOURCE_DIR}/docs/operations.md)
  install(FILES ${CMAKE_SOURCE_DIR}/docs/operations.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()

# One Debian package, "tally": both daemons, the CLI and the units. Each
# machine enables the daemon it runs.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tally)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "tally")
set(CPACK_PACKAGE_CONTACT "tally maintainers <tally@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "referendum result counting: regional nodes and a central aggregator")
set(CPACK_PACKAGE_DESCRIPTION
    "Regional tally-node daemons sign precinct protocols (Ed25519) and forward them over mutual TLS 1.3 to a central tally-aggregator, which verifies, reconciles, stores durably and publishes the totals. tallyctl is the command line client.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
find_program(TALLY_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(TALLY_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libuv1, libprotobuf-c1, libssl3, libsodium23, libsqlite3-0, libjansson4, libhttp-parser2.9, libinih1")
endif()
# systemd-sysusers/-tmpfiles in postinst; openssl and python3 for the tools.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, openssl, python3, sqlite3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${TALLY_DEPLOY_DIR}/debian/postinst ${TALLY_DEPLOY_DIR}/debian/prerm
    ${TALLY_DEPLOY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
