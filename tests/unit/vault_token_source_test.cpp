// SPDX-License-Identifier: Apache-2.0
// The token sources of `sshcert login --method token`: the Vault CLI's
// config, its external token helper (real scripts run here), and the order.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fake_env.hpp"
#include "vault_token_source.hpp"

using namespace sshcert;
using namespace sshcert::client;
using namespace std::chrono_literals;

namespace {

struct TempHome {
    std::filesystem::path dir;
    TempHome() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sshcert-token-test-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
    }
    ~TempHome() { std::filesystem::remove_all(dir); }
    std::string write(const std::string& name, const std::string& text, bool executable = false) const {
        auto path = dir / name;
        std::ofstream(path) << text;
        if (executable) ::chmod(path.c_str(), 0700);
        return path.string();
    }
};

std::string error_of(std::string_view text) {
    auto r = parse_vault_cli_config(text, "~/.vault");
    REQUIRE_FALSE(r);
    return r.error().message;
}

}  // namespace

TEST_CASE("vault CLI config: token_helper in HCL or JSON; nothing else is accepted") {
    auto hcl = parse_vault_cli_config("# keychain\ntoken_helper = \"/usr/local/bin/vault-keychain\"  // macOS\n", "~/.vault");
    REQUIRE(hcl);
    CHECK(*hcl == std::optional<std::string>("/usr/local/bin/vault-keychain"));
    auto json = parse_vault_cli_config(R"({"token_helper": "/opt/helper"})", "~/.vault");
    REQUIRE(json);
    CHECK(*json == std::optional<std::string>("/opt/helper"));
    auto none = parse_vault_cli_config("/* nothing\n here */\n\n", "~/.vault");
    REQUIRE(none);
    CHECK_FALSE(none->has_value());
    CHECK(error_of("token_helper = \"/a\"\naddress = \"x\"\n").starts_with("~/.vault:2: invalid key \"address\""));
    CHECK(error_of("token_helper = /no/quotes\n").find("must be a quoted path") != std::string::npos);
}

TEST_CASE("vault CLI config: VAULT_CONFIG_PATH names the file; a relative helper is taken from here, and must exist") {
    TempHome home;
    std::string helper = home.write("helper.sh", "#!/bin/sh\necho tok\n", true);
    auto config = home.write("vault.hcl", "token_helper = \"" + helper + "\"\n");
    auto found = configured_token_helper(test::env({{"VAULT_CONFIG_PATH", config}, {"HOME", "/nonexistent"}}));
    REQUIRE(found);
    CHECK(*found == std::optional<std::string>(helper));

    auto missing = home.write("missing.hcl", "token_helper = \"no-such-helper\"\n");
    auto r = configured_token_helper(test::env({{"VAULT_CONFIG_PATH", missing}}));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(std::filesystem::current_path().string() + "/no-such-helper") != std::string::npos);
    CHECK(r.error().message.find("does not exist") != std::string::npos);

    auto defaults = configured_token_helper(test::env({{"HOME", home.dir.string()}}));  // no ~/.vault
    REQUIRE(defaults);
    CHECK_FALSE(defaults->has_value());
}

TEST_CASE("token helper: run with `get`, its output trimmed; failures quote its stderr") {
    TempHome home;
    auto echo_arg = home.write("echo.sh", "#!/bin/sh\nprintf 'hvs.from-%s\\n\\n' \"$1\"\n", true);
    auto r = run_token_helper(echo_arg);
    REQUIRE(r);
    CHECK(*r == "hvs.from-get");

    auto failing = home.write("fail.sh", "#!/bin/sh\necho 'keychain is locked' >&2\nexit 3\n", true);
    auto f = run_token_helper(failing);
    REQUIRE_FALSE(f);
    CHECK(f.error().message.find("failed (exit status 3): keychain is locked") != std::string::npos);
    CHECK(f.error().message.find("--token-stdin") != std::string::npos);

    auto hanging = home.write("hang.sh", "#!/bin/sh\nexec sleep 30\n", true);
    auto start = std::chrono::steady_clock::now();
    auto h = run_token_helper(hanging, 300ms);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    REQUIRE_FALSE(h);
    CHECK(h.error().message.find("did not answer within") != std::string::npos);
}

TEST_CASE("token sources: VAULT_TOKEN, then the configured helper, which replaces ~/.vault-token") {
    TempHome home;
    home.write(".vault-token", "hvs.from-file\n");
    auto helper = home.write("helper.sh", "#!/bin/sh\necho hvs.from-helper\n", true);
    std::string h = home.dir.string();
    auto t = find_vault_token(test::env({{"HOME", h}, {"VAULT_TOKEN", "hvs.from-env"}}), false);
    REQUIRE(t);
    CHECK(*t == "hvs.from-env");
    auto file = find_vault_token(test::env({{"HOME", h}}), false);
    REQUIRE(file);
    CHECK(*file == "hvs.from-file");
    home.write(".vault", "token_helper = \"" + helper + "\"\n");
    auto helped = find_vault_token(test::env({{"HOME", h}}), false);
    REQUIRE(helped);
    CHECK(*helped == "hvs.from-helper");
    home.write("helper.sh", "#!/bin/sh\nexit 0\n", true);
    auto empty = find_vault_token(test::env({{"HOME", h}}), false);
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message.find("holds no token") != std::string::npos);
}
