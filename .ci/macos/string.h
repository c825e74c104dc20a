/* A stand-in for the C library's string.h, for `.ci/platforms` only: CI checks the crate for
 * aarch64-apple-darwin on Linux, without Apple's SDK, so ring's C code is compiled with
 * -nostdinc (the Linux host's headers would be wrong for macOS). ring needs only these four
 * functions from string.h; clang's own resource headers provide stddef.h. */
#ifndef LOCALFTP_CI_STRING_H
#define LOCALFTP_CI_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif
