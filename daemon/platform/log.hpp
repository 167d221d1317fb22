// SPDX-License-Identifier: Apache-2.0
// A small logging facade writing one line per event to stderr. Under systemd
// (JOURNAL_STREAM matches fd 2) lines carry sd-daemon(3) "<N>" priorities
// instead of timestamps. Never log tokens, passwords, keys or Vault bodies:
// fingerprints, serials and key IDs are enough.
#pragma once

#include <sstream>
#include <string>

namespace sshcert::log {

enum class Level { Error = 3, Warning = 4, Info = 6, Debug = 7 };

void set_verbose(bool verbose);
/// Nothing at all is logged (fuzz targets).
void set_quiet(bool quiet);
bool enabled(Level level);
void write(Level level, const std::string& line);

template <typename... Args>
void emit(Level level, Args&&... args) {
    if (!enabled(level)) return;
    std::ostringstream os;
    (os << ... << args);
    write(level, os.str());
}

template <typename... Args> void error(Args&&... a) { emit(Level::Error, std::forward<Args>(a)...); }
template <typename... Args> void warn(Args&&... a) { emit(Level::Warning, std::forward<Args>(a)...); }
template <typename... Args> void info(Args&&... a) { emit(Level::Info, std::forward<Args>(a)...); }
template <typename... Args> void debug(Args&&... a) { emit(Level::Debug, std::forward<Args>(a)...); }

}  // namespace sshcert::log
