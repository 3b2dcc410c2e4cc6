# Installation of libflock as a package: the CMake package (flockConfig*,
# flockTargets) and the pkg-config file. The libraries and headers
# themselves are installed by src/lib/CMakeLists.txt, component libflock.
include(CMakePackageConfigHelpers)

set(FLOCK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/flock)

install(EXPORT flockTargets NAMESPACE flock:: FILE flockTargets.cmake
  DESTINATION ${FLOCK_CMAKE_DIR} COMPONENT libflock)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/flockConfig.cmake.in
  ${PROJECT_BINARY_DIR}/flockConfig.cmake
  INSTALL_DESTINATION ${FLOCK_CMAKE_DIR})
# 0.x releases promise nothing across minors; from 1.0, the major is the ABI.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_flock_compat SameMinorVersion)
else()
  set(_flock_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/flockConfigVersion.cmake
  COMPATIBILITY ${_flock_compat})
install(FILES ${PROJECT_BINARY_DIR}/flockConfig.cmake
  ${PROJECT_BINARY_DIR}/flockConfigVersion.cmake
  DESTINATION ${FLOCK_CMAKE_DIR} COMPONENT libflock)

# flock.pc is written at install time so that it names the prefix actually
# installed to (`cmake --install --prefix` may differ from the configured
# one). Paths relative to the prefix are expanded against it.
foreach(_d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(_flock_pc_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(_flock_pc_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
set(_flock_pc_out ${PROJECT_BINARY_DIR}/flock.pc.install)
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(FLOCK_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(FLOCK_PC_LIBDIR [=[${_flock_pc_LIBDIR}]=])
  set(FLOCK_PC_INCLUDEDIR [=[${_flock_pc_INCLUDEDIR}]=])
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/flock.pc.in\"
    \"${_flock_pc_out}\" @ONLY)
" COMPONENT libflock)
install(FILES ${_flock_pc_out} RENAME flock.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT libflock)
