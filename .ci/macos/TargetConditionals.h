/* A stand-in for the macOS SDK's TargetConditionals.h, for `.ci/platforms` only: CI checks the
 * crate for aarch64-apple-darwin on Linux, without Apple's SDK. ring's C code (its
 * target-detection header) includes this file and reads these two macros to know it is
 * building for macOS, not iOS. Nothing is linked: clippy only needs the C build to compile. */
#ifndef LOCALFTP_CI_TARGETCONDITIONALS_H
#define LOCALFTP_CI_TARGETCONDITIONALS_H
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#endif
