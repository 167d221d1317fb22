// SPDX-License-Identifier: Apache-2.0
// sshcert status: who the daemon is logged in as and which certificates it holds.
#include <ctime>
#include <iostream>

#include "commands.hpp"
#include "format.hpp"

namespace sshcert::client {

int cmd_status(const Context& ctx, bool json) {
    auto reply = ctx.daemon.call(control::make_request(control::op::kStatus));
    if (!reply) return fail(reply.error());
    if (json) {
        std::cout << reply->dump(2) << "\n";
        return 0;
    }
    const control::Json& r = *reply;
    auto now = static_cast<std::uint64_t>(std::time(nullptr));
    std::cout << "Vault:        " << r.value("vault_addr", "") << "\n";
    if (auto o = r.find("vault_unreachable"); o != r.end() && o->is_object()) {
        const bool answering = o->value("code", "") == "vault_bad_response";  // it answers, but not as Vault
        std::cout << "              " << (answering ? "answering badly" : "unreachable") << " since "
                  << format_time(o->value("since", std::uint64_t{0})) << ": "
                  << o->value("error", "") << "\n";
        if (auto until = o->value("certificates_valid_until", std::uint64_t{0}))
            std::cout << "              the certificates held keep serving until " << format_time(until)
                      << "; renewal resumes by itself once Vault answers\n";
    }
    if (auto skew = r.value("clock_skew_seconds", std::int64_t{0}); skew <= -2 || skew >= 2)
        std::cout << "Clock skew:   Vault's clock is " << format_duration(skew < 0 ? -skew : skew) << (skew > 0 ? " ahead of" : " behind")
                  << " this machine's (certificates are judged by Vault's; sync this clock with NTP)\n";
    if (r.contains("token")) {
        auto t = control::token_summary_from_json(r["token"]);
        if (!t) return fail(t.error());
        std::cout << "Logged in as: " << t->display_name << " (policies: " << join(t->policies, ", ") << ")\n"
                  << "Token:        " << (t->ttl_seconds > 0 ? "expires in " + format_duration(t->ttl_seconds) : "never expires")
                  << (t->renewable ? ", renewed automatically" : t->ttl_seconds > 0 ? ", not renewable" : "") << "\n";
        if (t->login_required_at > 0) {
            auto at = static_cast<std::uint64_t>(t->login_required_at);
            std::cout << "Login:        login required at " << format_time(at) << " (in "
                      << format_duration(at > now ? static_cast<std::int64_t>(at - now) : 0) << ", the token's maximum TTL)"
                      << (t->login_end_near ? "; run sshcert login before then" : "") << "\n";
        } else if (t->renewable) {
            std::cout << "Login:        lasts until the token's maximum TTL, which Vault tells only when a renewal reaches it\n";
        }
    } else {
        std::cout << "Logged in as: nobody (run: sshcert login)\n";
        if (r.contains("login_needed") && r["login_needed"].is_string())
            std::cout << "Login:        " << r["login_needed"].get<std::string>() << "\n";
    }
    print_vaults(r);
    std::cout << "Agent socket: " << r.value("agent_socket", "") << "\n";
    const auto& certs = r["certificates"];
    if (!certs.is_array() || certs.empty()) {
        std::cout << "Certificates: none\n";
        return 0;
    }
    std::cout << "Certificates:\n";
    for (const auto& j : certs) {
        auto c = control::cert_summary_from_json(j);
        if (!c) return fail(c.error());
        std::cout << "  " << c->profile << ": " << c->key_type << " for " << join(c->principals, ", ") << ", serial "
                  << c->serial << ", " << describe_validity(c->valid_before, now) << "\n"
                  << "    key id " << c->key_id << ", " << c->fingerprint << "\n"
                  << "    agent " << j.value("agent_socket", "") << ": " << j.value("signatures", 0) << " signature(s) on "
                  << j.value("connections", 0) << " connection(s)\n";
        if (auto w = j.find("warnings"); w != j.end() && w->is_array())
            for (const auto& line : *w)
                if (line.is_string()) std::cout << "    warning: " << line.get<std::string>() << "\n";
    }
    return 0;
}

}  // namespace sshcert::client
