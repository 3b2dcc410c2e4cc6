# Debian packages from this tree, with CPack's DEB generator:
#
#   cmake -S . -B build/deb -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF
#   cmake --build build/deb -j2 && (cd build/deb && cpack -G DEB)
#
# (scripts/package.sh does that, then lintian, an install, a run and a
# removal; it is the `package` stage of scripts/test.sh.)
#
#   libflock<N>   the shared library, N its SONAME's number (so the
#                 package follows the SONAME: libflock0 for libflock.so.0)
#   libflock-dev  headers, libflock.a, the libflock.so link, flock.pc, the
#                 CMake package, libflock(3)
#   flockd        the server, flockd(8), flockd.service
#   flockctl      the command line (it links libflock<N>), flockctl(1),
#                 completion for bash, zsh and fish
#
# Dependencies on other packages come from dpkg-shlibdeps; between these
# packages, from the components' DEPENDS (the same version). The version
# is the project's (include/flock/common.h), a native package's.
get_target_property(_flock_so flock SOVERSION)
set(FLOCK_DEB_LIB libflock${_flock_so})

# Each package's /usr/share/doc/<package>: copyright and changelog.gz.
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in
  ${PROJECT_BINARY_DIR}/deb/changelog @ONLY)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/deb/changelog.gz
  COMMAND sh -c "gzip -9n -c '${PROJECT_BINARY_DIR}/deb/changelog' > '${PROJECT_BINARY_DIR}/deb/changelog.gz'"
  DEPENDS ${PROJECT_BINARY_DIR}/deb/changelog VERBATIM)
add_custom_target(deb_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/deb/changelog.gz)

function(flock_deb_doc component package)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright
    ${PROJECT_BINARY_DIR}/deb/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}
    COMPONENT ${component} EXCLUDE_FROM_ALL)
endfunction()
flock_deb_doc(libflock-runtime ${FLOCK_DEB_LIB})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/libflock/lintian-overrides
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides
  RENAME ${FLOCK_DEB_LIB} COMPONENT libflock-runtime EXCLUDE_FROM_ALL)
flock_deb_doc(libflock libflock-dev)
if(TARGET flockd AND TARGET flockctl)
  flock_deb_doc(flockd flockd)
  flock_deb_doc(flockctl flockctl)
  # The unit goes where systemd looks for a package's units.
  set(FLOCK_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
    "where flockd.service is installed, under the prefix")
  configure_file(${PROJECT_SOURCE_DIR}/packaging/flockd.service.in
    ${PROJECT_BINARY_DIR}/flockd.service @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/flockd.service
    DESTINATION ${FLOCK_SYSTEMD_UNIT_DIR} COMPONENT flockd)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME flock)
set(CPACK_PACKAGE_VENDOR "the flock-c developers")
set(CPACK_PACKAGE_CONTACT
  "flock-c developers <flock-c@users.noreply.github.com>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# flockctl links the libflock built here, which dpkg-shlibdeps finds here
# (its dependency is the component's DEPENDS below).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
  ${PROJECT_BINARY_DIR}/src/lib)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE https://github.com/flock-c/flock-c)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# shlibs for the package with the shared library (the others have none).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# Each package's description is its component's: the first line the
# summary. CPack would put the project's summary before it unless that
# is CPack's default one.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_COMPONENTS_ALL libflock-runtime libflock)
if(TARGET flockd AND TARGET flockctl)
  list(APPEND CPACK_COMPONENTS_ALL flockd flockctl)
endif()

set(CPACK_DEBIAN_LIBFLOCK-RUNTIME_PACKAGE_NAME ${FLOCK_DEB_LIB})
set(CPACK_DEBIAN_LIBFLOCK-RUNTIME_PACKAGE_SECTION libs)
# The ldconfig trigger, and scripts that stand in for CPack's, which
# would call ldconfig themselves.
set(CPACK_DEBIAN_LIBFLOCK-RUNTIME_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/libflock/triggers
  ${PROJECT_SOURCE_DIR}/packaging/debian/libflock/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/libflock/postrm)
set(CPACK_DEBIAN_LIBFLOCK-RUNTIME_DESCRIPTION
 "Flock referral and rewards SDK for C (shared library)
libflock is the C server SDK for Flock: identify customers, ingest
checkpoints, fetch the live campaign, validate and create referrals,
trigger rewards and verify webhooks, with thread-safe clients, kept-alive
connections and retries with idempotency keys.

This package holds the shared library.")

set(CPACK_DEBIAN_LIBFLOCK_PACKAGE_NAME libflock-dev)
set(CPACK_DEBIAN_LIBFLOCK_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBFLOCK_PACKAGE_DEPENDS
  "libcurl4-openssl-dev | libcurl-dev, libjansson-dev, libssl-dev")
set(CPACK_COMPONENT_LIBFLOCK_DEPENDS libflock-runtime)
set(CPACK_DEBIAN_LIBFLOCK_DESCRIPTION
 "Flock referral and rewards SDK for C (development files)
libflock is the C server SDK for Flock: one call for each thing the Node
SDK does.

This package holds the headers, the static library, the pkg-config file,
the CMake package and libflock(3).")

set(CPACK_DEBIAN_FLOCKD_PACKAGE_NAME flockd)
set(CPACK_DEBIAN_FLOCKD_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FLOCKD_PACKAGE_SUGGESTS "flockctl, postgresql")
set(CPACK_DEBIAN_FLOCKD_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/flockd/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/flockd/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/flockd/postrm)
set(CPACK_DEBIAN_FLOCKD_DESCRIPTION
 "self-hostable Flock referral and rewards server
flockd serves the Flock wire API and an admin API on SQLite or
PostgreSQL, with the referral and reward engine: fraud rules, rewards
granted exactly once, and webhook events written in a transactional
outbox and delivered, signed, with retries.

It runs as the systemd service flockd.service (a dynamic user, its state
in /var/lib/flockd, sandboxed).")

set(CPACK_DEBIAN_FLOCKCTL_PACKAGE_NAME flockctl)
set(CPACK_DEBIAN_FLOCKCTL_PACKAGE_SECTION net)
set(CPACK_COMPONENT_FLOCKCTL_DEPENDS libflock-runtime)
set(CPACK_DEBIAN_FLOCKCTL_DESCRIPTION
 "command line for Flock referrals and rewards
flockctl makes every call of the Flock wire API and every operation of
flockd's admin API from the shell: tables on a terminal, JSON for
scripts, resumable CSV imports, exports, and webhooks listen, which
forwards the events of a flockd to a local URL, signed.")

include(CPack)
