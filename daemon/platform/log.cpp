// SPDX-License-Identifier: Apache-2.0
#include "log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace sshcert::log {

namespace {
bool g_verbose = false;
bool g_quiet = false;
std::mutex g_mutex;

/// True when stderr is the journal stream systemd handed us.
bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (!js || fstat(STDERR_FILENO, &st) != 0) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    return dev == st.st_dev && ino == st.st_ino;
}

const char* level_name(Level l) {
    switch (l) {
        case Level::Error: return "error";
        case Level::Warning: return "warning";
        case Level::Info: return "info";
        case Level::Debug: return "debug";
    }
    return "info";
}
}  // namespace

void set_verbose(bool verbose) { g_verbose = verbose; }
void set_quiet(bool quiet) { g_quiet = quiet; }

bool enabled(Level level) { return !g_quiet && (level != Level::Debug || g_verbose); }

void write(Level level, const std::string& line) {
    static const bool journal = stderr_is_journal();
    std::lock_guard lock(g_mutex);  // the key-making worker may log too
    if (journal) {
        std::fprintf(stderr, "<%d>%s\n", static_cast<int>(level), line.c_str());
    } else {
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        localtime_r(&now, &tm);
        char ts[32];
        std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
        std::fprintf(stderr, "%s sshcertd %s: %s\n", ts, level_name(level), line.c_str());
    }
    std::fflush(stderr);
}

}  // namespace sshcert::log
