// SPDX-License-Identifier: Apache-2.0
// sshcertd: the per-user daemon. Runs in the foreground (systemd style, never forks).
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "asio.hpp"
#include "daemon.hpp"
#include "hygiene.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "systemd.hpp"
#include "unix_listener.hpp"
#include "version.hpp"
#include "wipe_on_free.hpp"

int main(int argc, char** argv) {
    using namespace sshcert;
    install_wiping_allocators();
    harden_process();

    CLI::App app{"sshcertd: keeps a Vault login, has short-lived SSH certificates signed by Vault, and serves them\n"
                 "over an ssh-agent socket. Runs in the foreground; logs go to stderr (the journal under systemd)."};
    std::optional<std::string> config_path;
    bool verbose = false;
    bool version = false;
    app.add_option("-c,--config", config_path, "config file (default: $XDG_CONFIG_HOME/sshcert/config.toml)");
    app.add_flag("-v,--verbose", verbose, "log every request at debug level");
    app.add_flag("--version", version, "print the version and exit");
    CLI11_PARSE(app, argc, argv);
    if (version) {
        std::cout << "sshcertd " << kVersion << "\n";
        return 0;
    }
    log::set_verbose(verbose);

    // Taken first, so LISTEN_* are unset and unusable descriptors closed whatever happens next.
    auto passed = systemd::adopt_listeners(systemd::take_passed_fds(), {"agent", "control"});
    auto passed_fd = [&](const std::string& name) -> std::optional<int> {
        auto it = passed.find(name);
        return it == passed.end() ? std::nullopt : std::optional<int>(it->second);
    };
    auto startup_failed = [](const std::string& message) {
        log::error(message);
        systemd::notify("STATUS=" + message);
        return 1;
    };
    auto getenv = [](const char* n) { return std::getenv(n); };
    try {
        auto config = config::load(config_path, getenv);
        if (!config) return startup_failed(config.error().message);
        CurlGlobal curl;
        asio::io_context io{1};
        Daemon daemon(io, DaemonOptions{config_path, config::runtime_dir(getenv), passed_fd("agent"), passed_fd("control")},
                      std::move(*config));
        // Set up before start() makes the sockets: a client that sees them may send SIGTERM at once,
        // which then waits in the set until io.run(). A clean stop exits 0, so systemd does not mark
        // the unit failed (as ssh-agent does).
        asio::signal_set stop_signals(io, SIGTERM, SIGINT);
        stop_signals.async_wait([&](boost::system::error_code ec, int sig) {
            if (ec) return;
            log::info("signal ", sig, " received, shutting down");
            systemd::notify("STOPPING=1");
            daemon.stop();  // abandons Vault calls in flight: no wait on a hung Vault
            io.stop();
        });
        asio::signal_set reload_signal(io, SIGHUP);
        std::function<void()> wait_hup = [&] {
            reload_signal.async_wait([&](boost::system::error_code ec, int) {
                if (ec) return;
                (void)daemon.reload();
                wait_hup();
            });
        };
        wait_hup();
        daemon.start();
        systemd::notify("READY=1");
        daemon.publish_status();

        io.run();
        return 0;
    } catch (const StartupError& e) {
        return startup_failed(e.what());
    } catch (const std::exception& e) {
        return startup_failed(std::string("fatal: ") + e.what());
    }
}
