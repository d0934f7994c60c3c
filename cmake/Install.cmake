# `cmake --install`: the gradc command line, libgradc with its headers, a
# CMake package (find_package(gradc) -> gradc::gradc, GRADC_EXECUTABLE) and a
# pkg-config file (pkg-config --cflags --libs gradc). docs/api.md.
include(CMakePackageConfigHelpers)
# Installed binaries keep the paths of the shared libraries they link
# (LLVM's, when it is outside the default search path).
set_target_properties(gradc gradc_capi PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
install(TARGETS gradc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS gradc_capi EXPORT gradcTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES include/gradc/gradc.h include/gradc/gradc.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gradc)
set(GRADC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gradc)
install(EXPORT gradcTargets NAMESPACE gradc:: DESTINATION ${GRADC_CMAKE_DIR})
configure_package_config_file(cmake/gradcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/gradcConfig.cmake
  INSTALL_DESTINATION ${GRADC_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gradcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gradcConfig.cmake
  ${PROJECT_BINARY_DIR}/gradcConfigVersion.cmake DESTINATION ${GRADC_CMAKE_DIR})
# Relocatable: the prefix is found from the .pc file's own place.
file(RELATIVE_PATH GRADC_PC_UP /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(cmake/gradc.pc.in ${PROJECT_BINARY_DIR}/gradc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gradc.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
