// SPDX-License-Identifier: Apache-2.0
// A Transport that answers from a script, for unit tests of whatever talks to
// Vault through a VaultClient. Each request takes the next scripted answer; a
// request that finds the script empty is held until answer() or cancel_all().
// Answers arrive through asio::post, as the real transport's do, so `done`
// never runs inside send(). Every request is recorded.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "asio.hpp"
#include "http.hpp"

namespace sshcert::test {

/// A reply as Vault would send it (JSON content type unless told otherwise).
inline HttpReply http_reply(long status, std::string_view body = {}, std::string content_type = "application/json") {
    HttpReply r;
    r.status = status;
    r.body = SecretString(body);
    r.content_type = std::move(content_type);
    return r;
}

/// Vault's error envelope: {"errors":["<text>"]}.
inline HttpReply vault_error(long status, std::string_view text) {
    std::string body = R"({"errors":[")" + std::string(text) + R"("]})";
    return http_reply(status, body);
}

/// What the real transport gives for a refused connection.
inline Error unreachable(std::string_view address) {
    return Error{Errc::VaultUnreachable, "cannot reach Vault at " + std::string(address) + ": connection refused"};
}

class FakeTransport final : public Transport {
public:
    explicit FakeTransport(asio::io_context& io) : io_(io) {}
    ~FakeTransport() override { *generation_ += 1; }  // answers still queued on the loop find it gone

    /// Queues the answer to the next request that arrives (or to the oldest held one).
    void push(Result<HttpReply> answer) {
        if (!held_.empty()) {
            auto done = std::move(held_.front());
            held_.pop_front();
            complete(std::move(done), std::move(answer));
            return;
        }
        script_.push_back(std::move(answer));
    }

    struct Sent {
        HttpRequest request;
        std::chrono::steady_clock::time_point at;
    };
    std::vector<Sent> sent;   ///< every request, in order
    int cancels = 0;          ///< calls of cancel_all()

    std::size_t held() const { return held_.size(); }
    /// Forgets the answers not yet taken.
    void clear_script() { script_.clear(); }
    std::size_t scripted() const { return script_.size(); }
    const HttpRequest& last() const { return sent.back().request; }

    void send(HttpRequest request, Done done) override {
        sent.push_back({std::move(request), std::chrono::steady_clock::now()});
        if (script_.empty()) {
            held_.push_back(std::move(done));
            return;
        }
        auto answer = std::move(script_.front());
        script_.pop_front();
        complete(std::move(done), std::move(answer));
    }

    void cancel_all() override {
        ++cancels;
        held_.clear();
        *generation_ += 1;  // answers already posted are dropped
        posted_ = 0;
    }

    std::size_t in_flight() const override { return held_.size() + posted_; }

private:
    void complete(Done done, Result<HttpReply> answer) {
        ++posted_;
        auto shared = std::make_shared<Result<HttpReply>>(std::move(answer));
        asio::post(io_, [this, gen = generation_, mine = *generation_, done = std::move(done), shared]() mutable {
            if (*gen != mine) return;  // cancelled, or the transport is gone
            --posted_;
            done(std::move(*shared));
        });
    }

    asio::io_context& io_;
    std::deque<Result<HttpReply>> script_;
    std::deque<Done> held_;
    std::size_t posted_ = 0;
    std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
};

}  // namespace sshcert::test
