// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "cli.hpp"
#include "commands/commands.hpp"
#include "control_client.hpp"
#include "fake_env.hpp"

using namespace sshcert;
using sshcert::test::env;
using namespace sshcert::client;

namespace {

/// Runs `sshcert args...` in-process; its exit status and what it printed on stdout.
std::pair<int, std::string> run_cli(std::vector<std::string> args) {
    args.insert(args.begin(), "sshcert");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::ostringstream out;
    auto* old = std::cout.rdbuf(out.rdbuf());
    int rc = run(static_cast<int>(argv.size()), argv.data());
    std::cout.rdbuf(old);
    return {rc, out.str()};
}

}  // namespace

TEST_CASE("completion: bash completes every verb, each verb's options, and the choices --help shows") {
    auto [rc, script] = run_cli({"completion", "bash"});
    REQUIRE(rc == 0);
    CHECK(script.find("complete -F _sshcert sshcert") != std::string::npos);
    CHECK(script.find("'-h --help -c --config --version login status logout ssh ensure exec ssh-config cloud-init ca known-hosts version completion setup doctor profiles reload help'") !=
          std::string::npos);
    CHECK(script.find("-m|--method) COMPREPLY=($(compgen -W 'token userpass ldap oidc approle cert aws' -- \"$cur\")); return ;;") != std::string::npos);
    CHECK(script.find("-c|--config) _filedir; return ;;") != std::string::npos);
    CHECK(script.find("'-h --help --json'") != std::string::npos);
    CHECK(script.find("ssh) _command_offset $i ;;") != std::string::npos);  // ssh's own completion takes over
    // exec: its options, then past -- the command's own completion.
    CHECK(script.find("[[ ${words[j]} == -- ]] && { _command_offset $((j + 1)); return; }") != std::string::npos);
    CHECK(script.find("'-h --help --profile --'") != std::string::npos);
}

TEST_CASE("completion: zsh describes every verb and completes option values") {
    auto [rc, script] = run_cli({"completion", "zsh"});
    REQUIRE(rc == 0);
    CHECK(script.starts_with("#compdef sshcert\n"));
    for (const char* verb : {"login", "status", "logout", "ssh", "ensure", "exec", "ssh-config", "cloud-init", "ca", "known-hosts", "version", "completion",
                             "setup", "doctor", "profiles", "reload", "help"})
        CHECK_MESSAGE(script.find(std::string("                '") + verb + ":") != std::string::npos, verb);
    CHECK(script.find("{-m+,--method=}") != std::string::npos);
    CHECK(script.find(":method:(token userpass ldap oidc approle cert aws)'") != std::string::npos);
    CHECK(script.find("'1:shell:(bash zsh)'") != std::string::npos);
    CHECK(script.find("_normal && ret=0") != std::string::npos);
}

TEST_CASE("completion: an unknown shell is a usage error") { CHECK(run_cli({"completion", "fish"}).first == 1); }

TEST_CASE("daemon start command: the socket unit only where systemd runs and the unit is installed") {
    auto dir = std::filesystem::temp_directory_path() / ("sshcert-cli-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "systemd" / "user");
    std::ofstream(dir / "systemd" / "user" / "sshcertd.socket") << "[Socket]\n";
    auto with_unit = env({{"XDG_CONFIG_HOME", dir.string()}});
    CHECK(daemon_start_command(with_unit, true) == "systemctl --user start sshcertd.socket sshcertd-control.socket");
    CHECK(daemon_start_command(with_unit, false) == "sshcertd &");
    std::filesystem::remove_all(dir);

    auto msg = daemon_not_running_message("/run/user/1/sshcert/control.sock", "Connection refused",
                                          "systemctl --user start sshcertd.socket sshcertd-control.socket");
    CHECK(msg == "sshcertd is not running (Connection refused at /run/user/1/sshcert/control.sock). Start it with "
                 "`systemctl --user start sshcertd.socket sshcertd-control.socket`, or run `sshcert setup` once to have it start at every login");
    CHECK(daemon_not_running_message("/s", "x", "sshcertd &").ends_with("Start it with `sshcertd &`"));
}

TEST_CASE("help: help CMD prints that command's help; an unknown command gets the closest one") {
    auto [rc, text] = run_cli({"help", "status"});
    CHECK(rc == 0);
    CHECK(text.find("show the Vault login and the certificates held") != std::string::npos);
    CHECK(text.find("Usage: sshcert status [OPTIONS]") != std::string::npos);  // as `sshcert status --help` says it
    CHECK(text.find("--json") != std::string::npos);
    std::ostringstream err;
    auto* old = std::cerr.rdbuf(err.rdbuf());
    int unknown_rc = run_cli({"stauts"}).first;
    int help_rc = run_cli({"help", "relaod"}).first;
    std::cerr.rdbuf(old);
    CHECK(unknown_rc == 1);
    CHECK(help_rc == 1);
    CHECK(err.str() == "sshcert: unknown command 'stauts'. Did you mean 'status'?\nRun `sshcert --help` for the list of commands.\n"
                       "sshcert: unknown command 'relaod'. Did you mean 'reload'?\nRun `sshcert --help` for the list of commands.\n");
}
