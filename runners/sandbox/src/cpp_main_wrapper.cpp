// Linked into every C++ program the sandbox builds, with -Wl,--wrap=main: the C runtime calls
// __wrap_main, which takes the per-run nonce from fd 4 before the program runs and writes the
// result record to fd 5 only when main() returns. An exit(0) before that leaves no record.
#include <unistd.h>

#include <cstdio>
#include <cstring>

extern "C" int __real_main(int argc, char** argv, char** envp);

extern "C" int __wrap_main(int argc, char** argv, char** envp) {
  char nonce[128] = {};
  ssize_t n = read(4, nonce, sizeof nonce - 1);
  close(4);
  if (n < 0) n = 0;
  while (n > 0 && (nonce[n - 1] == '\n' || nonce[n - 1] == ' ')) --n;
  nonce[n] = 0;
  const int rc = __real_main(argc, argv, envp);
  std::fflush(stdout);
  std::fflush(stderr);
  char rec[512];
  if (rc == 0) {
    std::snprintf(rec, sizeof rec, "MOEBENCH1 %s passed 0\n", nonce);
  } else {
    char detail[64];
    const int len = std::snprintf(detail, sizeof detail, "main returned %d", rc);
    std::snprintf(rec, sizeof rec, "MOEBENCH1 %s error %d\n%s", nonce, len, detail);
  }
  const ssize_t w = write(5, rec, std::strlen(rec));
  close(5);
  return w < 0 ? 70 : rc;
}
