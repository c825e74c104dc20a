/* Wine 8.0 has no bcryptprimitives.dll, and Rust's std (since 1.78) takes its random numbers
 * from ProcessPrng there, so every Rust .exe fails to start under it. This stand-in, placed
 * beside the .exe, forwards ProcessPrng to advapi32's RtlGenRandom (SystemFunction036), which
 * Wine has. Only for running the Windows build under Wine in CI; real Windows has the DLL. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
