// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <set>

#include "cert_cache.hpp"
#include "ssh_engine.hpp"

using namespace sshcert;

namespace {

struct Harness {
    std::uint64_t now = 1'000'000;
    std::uint64_t generation = 1;
    std::vector<std::pair<CertKey, CertCache::Done>> fetches;
    CertCache cache{[this](const CertKey& k, std::uint64_t, CertCache::Done d) { fetches.emplace_back(k, std::move(d)); },
                    [this] { return now; }};

    std::shared_ptr<HeldCert> make(const CertKey& key, std::uint64_t lifetime) {
        auto held = std::make_shared<HeldCert>();
        held->key = key;
        held->private_key = std::make_shared<const SshKey>(std::move(SshKey::generate(config::KeyType::Ed25519)).value());
        held->blob = {1, 2, static_cast<std::uint8_t>(fetches.size())};
        held->cert.valid_after = now - 30;
        held->cert.valid_before = now + lifetime;
        return held;
    }

    /// A certificate held for 2100 s of its 3000, just asked for again: due for background renewal.
    CertKey in_use_and_due() {
        CertKey key{"prod", {"ubuntu"}};
        cache.ensure(key, generation, [](auto, bool) {});
        fetches[0].second(make(key, 3000));
        now += 2100;
        cache.ensure(key, generation, [](auto, bool) {});
        return key;
    }
};

}  // namespace

TEST_CASE("cert cache: concurrent ensures for the same profile share one fetch") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    int answered = 0;
    h.cache.ensure(key, h.generation, [&](auto r, bool reused) { answered += r.ok() && !reused; });
    h.cache.ensure(key, h.generation, [&](auto r, bool reused) { answered += r.ok() && !reused; });
    REQUIRE(h.fetches.size() == 1);
    h.fetches[0].second(h.make(key, 3600));
    CHECK(answered == 2);
}

TEST_CASE("cert cache: reused while the margin lasts, renewed after") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    h.cache.ensure(key, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(key, 3600));
    bool reused = false;
    h.cache.ensure(key, h.generation, [&](auto, bool r) { reused = r; });
    CHECK(reused);
    CHECK(h.fetches.size() == 1);
    h.now += 3600 - 299;  // inside the last 5 minutes of a one-hour certificate
    h.cache.ensure(key, h.generation, [&](auto, bool r) { reused = r; });
    CHECK(h.fetches.size() == 2);
}

TEST_CASE("cert cache: different principals are different certificates") {
    Harness h;
    h.cache.ensure({"prod", {"ubuntu"}}, h.generation, [](auto, bool) {});
    h.cache.ensure({"prod", {"root"}}, h.generation, [](auto, bool) {});
    CHECK(h.fetches.size() == 2);
}

TEST_CASE("cert cache: an expired certificate is never listed and is dropped") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    h.cache.ensure(key, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(key, 60));
    CHECK(h.cache.identities().size() == 1);
    CHECK(h.cache.next_expiry() == h.now + 60);
    h.now += 60;
    CHECK(h.cache.identities().empty());
    CHECK(h.cache.find_by_blob(wire::Bytes{1, 2, 0}) == nullptr);
    CHECK(h.cache.drop_expired() == 1);
    CHECK_FALSE(h.cache.next_expiry().has_value());
}

TEST_CASE("cert cache: a fetch that finishes after logout is not kept") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    bool failed = false;
    h.cache.ensure(key, h.generation, [&](auto r, bool) { failed = !r.ok(); });
    h.cache.clear();
    h.fetches[0].second(h.make(key, 3600));
    CHECK(failed);
    CHECK(h.cache.identities().empty());
}

TEST_CASE("renewal margin: a tenth of the lifetime, within 10 s and 5 min") {
    Certificate c;
    c.valid_after = 0;
    c.valid_before = 3600;
    CHECK(renewal_margin(c) == 300);
    c.valid_before = 600;
    CHECK(renewal_margin(c) == 60);
    c.valid_before = 30;
    CHECK(renewal_margin(c) == 10);
}

TEST_CASE("cert cache: an ensure under a new login never joins a fetch begun under the old one") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    std::optional<Errc> old_result;
    h.cache.ensure(key, h.generation, [&](auto r, bool) { old_result = r ? std::optional<Errc>() : r.error().code; });
    h.cache.clear();  // logout
    REQUIRE(old_result == Errc::NotLoggedIn);  // answered at once, not left waiting on Vault
    ++h.generation;   // login again
    bool fresh_ok = false;
    h.cache.ensure(key, h.generation, [&](auto r, bool) { fresh_ok = r.ok(); });
    REQUIRE(h.fetches.size() == 2);  // a fetch of its own
    h.fetches[0].second(Error{Errc::NotLoggedIn, "the old token is gone"});
    CHECK_FALSE(fresh_ok);  // the old fetch's failure does not reach the new waiter
    h.fetches[1].second(h.make(key, 3600));
    CHECK(fresh_ok);
    CHECK(h.cache.valid().size() == 1);
}

TEST_CASE("cert cache: a late fetch from before a logout is not stored") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    h.cache.ensure(key, h.generation, [](auto, bool) {});
    h.cache.clear();
    h.fetches[0].second(h.make(key, 3600));
    CHECK(h.cache.valid().empty());
}

TEST_CASE("cert cache: a certificate that starts in the local future is still offered") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    h.cache.ensure(key, h.generation, [](auto, bool) {});
    auto held = h.make(key, 3600);
    held->cert.valid_after = h.now + 120;  // Vault's clock is two minutes ahead of ours
    h.fetches[0].second(held);
    CHECK(h.cache.identities().size() == 1);
}

TEST_CASE("background renewal: a certificate in use is due between a third and two thirds of its life, one not in use never") {
    Harness h;
    CertKey used{"prod", {"ubuntu"}}, idle{"prod", {"root"}};
    for (const auto& k : {used, idle}) h.cache.ensure(k, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(used, 3000));
    h.fetches[1].second(h.make(idle, 3000));
    const std::uint64_t window = 600;
    h.now += 950;  // 32 % of the lifetime (valid_after is 30 s back): not yet
    CHECK(h.cache.due_for_renewal(window).empty());
    h.now += 750;
    h.cache.ensure(used, h.generation, [](auto, bool) {});  // reused: in use
    REQUIRE(h.fetches.size() == 2);
    h.now += 300;  // 66.7 %
    auto due = h.cache.due_for_renewal(window);
    REQUIRE(due.size() == 1);
    CHECK(due[0] == used);
    auto next = h.cache.next_wakeup(window);
    REQUIRE(next);
    CHECK(*next <= h.now);
}

TEST_CASE("background renewal: the new certificate replaces the old, which is served until then") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    h.cache.ensure(key, h.generation, [](auto, bool) {});
    auto old = h.make(key, 3000);
    h.fetches[0].second(old);
    h.now += 2100;
    h.cache.renew(key, h.generation);
    REQUIRE(h.fetches.size() == 2);
    h.cache.renew(key, h.generation);  // already under way: not twice
    CHECK(h.fetches.size() == 2);
    CHECK(h.cache.due_for_renewal(600).empty());  // nor offered to the scheduler again
    bool reused = false;
    h.cache.ensure(key, h.generation, [&](auto r, bool re) { reused = r.ok() && re; });
    CHECK(reused);  // still fresh enough to hand out: no ssh waits on the renewal
    CHECK(h.cache.find_by_blob(old->blob) == old.get());
    auto fresh = h.make(key, 3000);
    fresh->blob = {7, 7, 7};
    h.fetches[1].second(fresh);
    CHECK(h.cache.find_by_blob(fresh->blob) == fresh.get());
    CHECK(h.cache.due_for_renewal(600).empty());
    // Only the new one is listed, but an ssh that listed the old one a moment ago still gets its signature.
    auto listed = h.cache.identities();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].key_blob == fresh->blob);
    CHECK(h.cache.find_by_blob(old->blob) == old.get());
    h.now += CertCache::kReplacedGraceSeconds;
    CHECK(h.cache.find_by_blob(old->blob) == nullptr);
    std::weak_ptr<HeldCert> gone = old;
    old.reset();
    h.cache.drop_expired();
    CHECK(gone.expired());  // the old key is freed (and wiped) with its certificate
}

TEST_CASE("background renewal: a refusal keeps the old certificate and backs off") {
    Harness h;
    CertKey key = h.in_use_and_due();
    const Error* heard = nullptr;
    h.cache.renew(key, h.generation, [&](const Error* e) { heard = e; });
    h.fetches[1].second(Error{Errc::VaultRefused, "role prod does not allow principal ubuntu"});
    CHECK(heard != nullptr);
    CHECK(h.cache.valid().size() == 1);               // still served
    CHECK(h.cache.due_for_renewal(600).empty());       // backing off
    h.now += 2;
    CHECK(h.cache.due_for_renewal(600).size() == 1);  // and tried again
}

TEST_CASE("background renewal: an outage is left to the caller's gate, which the cache asks") {
    Harness h;
    CertKey key = h.in_use_and_due();
    bool failed = false;
    h.cache.renew(key, h.generation, [&](const Error* e) { failed = e && is_vault_outage(*e); });
    h.fetches[1].second(Error{Errc::VaultUnreachable, "cannot reach Vault"});
    CHECK(failed);
    CHECK(h.cache.due_for_renewal(600).size() == 1);  // no backoff of its own
    auto gate = [&](const CertKey&) { return h.now + 40; };
    CHECK(h.cache.due_for_renewal(600, gate).empty());
    CHECK(h.cache.next_wakeup(600, gate) == h.now + 40);
}

TEST_CASE("background renewal: an ensure during a renewal joins it rather than asking Vault twice") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    h.cache.ensure(key, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(key, 600));
    h.now += 590;  // past the margin: an ensure must wait for a fresh one
    h.cache.renew(key, h.generation);
    bool got = false;
    h.cache.ensure(key, h.generation, [&](auto r, bool) { got = r.ok(); });
    CHECK(h.fetches.size() == 2);
    h.fetches[1].second(h.make(key, 600));
    CHECK(got);
}

TEST_CASE("cert cache: with Vault unreachable, a certificate near its end is still handed out") {
    Harness h;
    CertKey key{"prod", {"ubuntu"}};
    h.cache.ensure(key, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(key, 600));
    h.now += 590;  // inside the margin: a new one is fetched
    std::optional<bool> reused;
    h.cache.ensure(key, h.generation, [&](auto r, bool re) { reused = r.ok() ? std::optional<bool>(re) : std::nullopt; });
    h.fetches[1].second(Error{Errc::VaultUnreachable, "cannot reach Vault"});
    CHECK(reused == true);
    h.now += 20;  // now expired: the error comes through
    bool failed = false;
    h.cache.ensure(key, h.generation, [&](auto r, bool) { failed = !r.ok(); });
    h.fetches[2].second(Error{Errc::VaultUnreachable, "cannot reach Vault"});
    CHECK(failed);
}

TEST_CASE("cert cache: one Vault's login ending clears its profiles' certificates and fetches, not another Vault's") {
    Harness h;
    CertKey prod{"prod", {"ubuntu"}}, corp{"corp", {"ubuntu"}};
    h.cache.ensure(prod, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(prod, 3600));
    std::optional<bool> corp_ok, late_ok;
    h.cache.ensure(corp, h.generation, [&](auto r, bool) { corp_ok = r.ok(); });
    h.cache.ensure(CertKey{"corp", {"root"}}, h.generation, [&](auto r, bool) { late_ok = r.ok(); });
    REQUIRE(h.fetches.size() == 3);

    h.cache.clear_if([](const CertKey& k) { return k.profile == "corp"; });
    CHECK(corp_ok == false);  // its waiters are answered at once
    CHECK(late_ok == false);
    h.fetches[1].second(h.make(corp, 3600));  // a late answer for the cleared Vault is not kept
    REQUIRE(h.cache.valid().size() == 1);
    CHECK(h.cache.valid()[0]->key.profile == "prod");
}

TEST_CASE("cert cache: extensions = auto: one with more extensions serves less, one with fewer is not used for more") {
    Harness h;
    CertKey pty{"prod", {"ubuntu"}, {"permit-pty"}};
    CertKey forwarding{"prod", {"ubuntu"}, {"permit-port-forwarding", "permit-pty"}};
    h.cache.ensure(pty, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(pty, 3600));
    bool reused = true;
    h.cache.ensure(forwarding, h.generation, [&](auto, bool r) { reused = r; });
    REQUIRE(h.fetches.size() == 2);  // -L needs what the first lacks
    h.fetches[1].second(h.make(forwarding, 3600));
    CHECK_FALSE(reused);
    CertKey none{"prod", {"ubuntu"}, {"permit-port-forwarding"}};
    std::shared_ptr<HeldCert> served;
    h.cache.ensure(none, h.generation, [&](auto r, bool was_reused) {
        reused = was_reused;
        served = *r;
    });
    CHECK(h.fetches.size() == 2);
    CHECK(reused);
    CHECK(served->key == forwarding);
    CHECK_FALSE(serves(pty, forwarding));
    CHECK(serves(forwarding, pty));
    CHECK_FALSE(serves(forwarding, CertKey{"prod", {"root"}, {"permit-pty"}}));
}

TEST_CASE("cert cache: the agent lists the certificate asked for last first") {
    Harness h;
    CertKey bastion{"bastion", {"ops"}}, target{"target", {"ubuntu"}};
    h.cache.ensure(target, h.generation, [](auto, bool) {});
    h.fetches[0].second(h.make(target, 3600));
    h.cache.ensure(bastion, h.generation, [](auto, bool) {});
    h.fetches[1].second(h.make(bastion, 3600));
    auto first_comment = [&] { return h.cache.identities().front().comment; };
    CHECK(first_comment().starts_with("sshcert:bastion"));
    h.cache.ensure(target, h.generation, [](auto, bool) {});  // reused, and now the most recent
    CHECK(first_comment().starts_with("sshcert:target"));
    CHECK(h.cache.identities("bastion").size() == 1);
}

TEST_CASE("sign refusals: the extensions Vault names as not on the allowed list") {
    Error e{Errc::VaultRefused, "Vault refused to sign for role 'r' (ssh/sign/r): extensions [permit-X11-forwarding permit-user-rc] "
                                "are not on allowed list (remove them from extensions in profile 'p' or ask for them in the role)"};
    CHECK(refused_extensions(e) == std::vector<std::string>{"permit-X11-forwarding", "permit-user-rc"});
    e.detail = "extensions [permit-pty] are not on allowed list";
    CHECK(refused_extensions(e) == std::vector<std::string>{"permit-pty"});
    CHECK(refused_extensions({Errc::VaultRefused, "ttl is larger than maximum allowed 3600"}).empty());
    CHECK(refused_extensions({Errc::VaultDenied, "extensions [permit-pty] are not on allowed list"}).empty());
}

TEST_CASE("background renewal: a certificate in use that expired while Vault was down is fetched again") {
    Harness h;
    CertKey key = h.in_use_and_due();  // 900 s left, asked for just now
    h.cache.renew(key, h.generation);
    h.fetches[1].second(Error{Errc::VaultUnreachable, "cannot reach Vault"});
    h.now += 901;
    CHECK(h.cache.drop_expired(3600) == 1);
    CHECK(h.cache.valid().empty());
    auto gate = [&](const CertKey&) { return h.now + 30; };  // Vault still down
    CHECK(h.cache.due_for_renewal(3600, gate).empty());
    CHECK(h.cache.next_wakeup(3600, gate) == h.now + 30);
    REQUIRE(h.cache.due_for_renewal(3600).size() == 1);  // Vault back
    h.cache.renew(key, h.generation);
    CHECK(h.cache.due_for_renewal(3600).empty());  // under way
    h.fetches[2].second(h.make(key, 3000));
    CHECK(h.cache.valid().size() == 1);
    CHECK(h.cache.due_for_renewal(3600).empty());
}

TEST_CASE("background renewal: an expired certificate nobody used within the window is not fetched again") {
    Harness h;
    CertKey key = h.in_use_and_due();
    h.now += 901;
    h.cache.drop_expired(600);
    CHECK(h.cache.due_for_renewal(600).empty());
    h.now += 3600;  // and one remembered as used ages out
    CHECK(h.cache.due_for_renewal(600).empty());
    CHECK_FALSE(h.cache.next_wakeup(600));
}

TEST_CASE("background renewal: certificates fetched together are first renewed apart, renewals keep their place") {
    Harness h;
    std::set<std::uint64_t> first, second;
    for (int i = 0; i < 50; ++i) {
        CertKey key{"prod", {"u" + std::to_string(i)}};
        h.cache.ensure(key, h.generation, [](auto, bool) {});
        h.fetches.back().second(h.make(key, 3000));
    }
    for (const auto& id : h.cache.valid()) first.insert(id->renew_at() - h.now);
    CHECK(*first.begin() >= 999);   // from a third of its life
    CHECK(*first.rbegin() <= 1998);  // to two thirds
    CHECK(*first.rbegin() - *first.begin() >= 600);  // spread over most of that, not in step
    for (int i = 0; i < 50; ++i) {
        CertKey key{"prod", {"u" + std::to_string(i)}};
        h.cache.renew(key, h.generation);
        h.fetches.back().second(h.make(key, 3000));
    }
    for (const auto& id : h.cache.valid()) second.insert(id->renew_at() - h.now);
    CHECK(*second.begin() >= 1800);  // a renewal: 60-67 %
    CHECK(*second.rbegin() <= 1998);
}
