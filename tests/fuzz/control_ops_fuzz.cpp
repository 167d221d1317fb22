// SPDX-License-Identifier: Apache-2.0
// Every control op, end to end over the daemon's real parts (TokenKeeper,
// CertCache, CertIssuer, AgentService, ControlService) with a scripted Vault.
// Input: a control request body, a 0 byte, a status selector byte, then the
// body every Vault call is answered with. Whatever arrives, each request gets
// exactly one well-formed reply and nothing crashes or leaks.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "agent_service.hpp"
#include "cert_cache.hpp"
#include "cert_issuer.hpp"
#include "cert_source.hpp"
#include "control_service.hpp"
#include "fake_transport.hpp"
#include "key_maker.hpp"
#include "listeners.hpp"
#include "log.hpp"
#include "vault_session.hpp"

using namespace sshcert;

namespace {

struct World {
    asio::io_context io;
    asio::thread_pool workers{1};
    std::shared_ptr<test::FakeTransport> transport = std::make_shared<test::FakeTransport>(io);
    config::Config config = make_config();
    VaultSession session{io, std::make_shared<VaultClient>(io, config.vault, transport, RetryPolicy{.max_retries = 0}),
                         [](bool) {}};
    KeyMaker keys{io, workers};
    CertIssuer issuer{keys, [this] { return session.vault_now(); }};
    CertSource source{[this]() -> const config::Config& { return config; }, [this](std::string_view n) { return pick(n); }, issuer};
    CertCache cache{[this](const CertKey& k, std::uint64_t g, CertCache::Done d) { source.fetch(k, g, std::move(d)); },
                    [this] { return session.vault_now(); }};
    AgentService agent{io, cache, [this]() -> const config::Config& { return config; }, {}};
    Listeners listeners{io, "/nonexistent/sshcert-fuzz", std::nullopt, std::nullopt};
    ControlService control{ControlContext{.config = [this]() -> const config::Config& { return config; },
                                          .session = [this]() -> VaultSession& { return session; },
                                          .vault_session = [this](std::string_view n) { return pick(n); },
                                          .cache = cache,
                                          .agent = agent,
                                          .listeners = listeners,
                                          .reload = [] { return Status(Error{Errc::InvalidArgument, "no reload here"}); }}};

    VaultSession* pick(std::string_view name) { return name == config::kDefaultVault ? &session : nullptr; }

    static config::Config make_config() {
        config::Config c;
        c.vault.address = "http://127.0.0.1:8200";
        config::Profile p;
        p.name = "prod";
        p.hosts = {"*"};
        p.role = "dev";
        c.profiles.push_back(p);
        return c;
    }
};

World& world() {
    static World* w = [] {
        log::set_quiet(true);
        return new World();  // lives for the process: libFuzzer never returns
    }();
    return *w;
}

constexpr long kStatuses[] = {200, 204, 400, 403, 404, 412, 429, 500, 503, 307};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    World& w = world();
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto sep = in.find('\0');
    std::string_view request = in.substr(0, sep);
    long status = 200;
    std::string_view vault_body;
    if (sep != std::string_view::npos && sep + 1 < in.size()) {
        status = kStatuses[static_cast<unsigned char>(in[sep + 1]) % std::size(kStatuses)];
        vault_body = in.substr(sep + 2);
    }
    for (int i = 0; i < 4; ++i) w.transport->push(test::http_reply(status, vault_body));

    auto decoded = control::decode(wire::ByteView(reinterpret_cast<const std::uint8_t*>(request.data()), request.size()));
    int replies = 0;
    if (decoded) w.control.handle(*decoded, [&](control::Json reply) {
        ++replies;
        if (!reply.is_object() || !(reply.contains("result") || reply.contains("error"))) std::abort();
        (void)control::encode(reply);
    });
    for (int i = 0; i < 64 && (w.io.poll() > 0 || w.transport->in_flight() > 0); ++i) w.io.restart();
    w.io.restart();
    // Anything still waiting on Vault is abandoned, and the next input starts from a logged-out daemon.
    w.transport->cancel_all();
    w.transport->clear_script();
    w.cache.clear();
    w.session.tokens().logout([](TokenKeeper::LogoutOutcome) {});
    w.transport->cancel_all();
    for (int i = 0; i < 8; ++i) {
        w.io.poll();
        w.io.restart();
    }
    if (replies > 1) std::abort();  // exactly one reply per request, never two
    return 0;
}
