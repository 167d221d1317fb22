// SPDX-License-Identifier: Apache-2.0
// The real Transport: one curl multi handle driven by the Asio loop. curl's
// sockets are watched with stream_descriptors that never own them (curl
// opens and closes them, close-on-exec, through our callbacks); its timer is
// a steady_timer. Nothing blocks, so a hung Vault delays only its own
// requests, and cancel_all() is immediate. The multi handle keeps its
// connection cache, so calls reuse connections (and TLS sessions).
#pragma once

#include <chrono>
#include <memory>

#include "asio.hpp"
#include "config.hpp"
#include "http.hpp"

namespace sshcert {

class CurlTransport final : public Transport {
public:
    /// A connection attempt is given this long at most (less when the request's timeout is shorter).
    static constexpr std::chrono::milliseconds kConnectTimeout{10000};

    /// TLS trust from `settings`: ca_cert, ca_path, skip_verify. Needs a CurlGlobal.
    CurlTransport(asio::io_context& io, const config::VaultSettings& settings);
    ~CurlTransport() override;  ///< abandons every exchange, like cancel_all()
    CurlTransport(const CurlTransport&) = delete;
    CurlTransport& operator=(const CurlTransport&) = delete;

    void send(HttpRequest request, Done done) override;
    void cancel_all() override;
    std::size_t in_flight() const override;
    /// Sockets curl holds open: those of exchanges in flight and idle cached connections.
    std::size_t open_sockets() const;

private:
    class Impl;
    std::shared_ptr<Impl> impl_;  ///< shared so the loop's handlers can tell it is gone (weak_ptr)
};

}  // namespace sshcert
