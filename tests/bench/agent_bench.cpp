// SPDX-License-Identifier: Apache-2.0
// Agent-protocol load generator: N clients, each on its own connection, send
// SIGN_REQUESTs for the agent's first identity back to back and time each
// round trip. Prints p50, p99 and signatures per second. Works against any
// ssh-agent socket, so sshcertd and OpenSSH's ssh-agent are measured alike.
//
//   agent_bench SOCKET CLIENTS REQUESTS_PER_CLIENT
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "agent_codec.hpp"

using namespace sshcert;
using Clock = std::chrono::steady_clock;

namespace {

int connect_to(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror(path.c_str());
        std::exit(2);
    }
    return fd;
}

bool io_exact(int fd, std::uint8_t* p, std::size_t n, bool write) {
    while (n > 0) {
        ssize_t r = write ? ::write(fd, p, n) : ::read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

/// One request/reply; returns the reply body.
wire::Bytes round_trip(int fd, wire::Bytes frame) {
    if (!io_exact(fd, frame.data(), frame.size(), true)) std::exit(3);
    std::uint8_t header[4];
    if (!io_exact(fd, header, 4, false)) std::exit(3);
    wire::Bytes body(wire::load_be32(header));
    if (!io_exact(fd, body.data(), body.size(), false)) std::exit(3);
    return body;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s SOCKET CLIENTS REQUESTS_PER_CLIENT\n", argv[0]);
        return 1;
    }
    std::string path = argv[1];
    int clients = std::atoi(argv[2]);
    int requests = std::atoi(argv[3]);

    int probe = connect_to(path);
    auto ids = agent::decode_identities(round_trip(probe, agent::encode_request_identities()));
    ::close(probe);
    if (!ids || ids->empty()) {
        std::fprintf(stderr, "the agent at %s holds no identity\n", path.c_str());
        return 2;
    }
    wire::Bytes key = (*ids)[0].key_blob;
    // What ssh signs during userauth is ~150-500 bytes; 256 is typical for an Ed25519 key.
    wire::Bytes data(256, 0x5a);

    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
    std::vector<std::thread> threads;
    auto start = Clock::now();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            int fd = connect_to(path);
            auto& lat = latencies[static_cast<std::size_t>(c)];
            lat.reserve(static_cast<std::size_t>(requests));
            for (int i = 0; i < requests; ++i) {
                auto t0 = Clock::now();
                auto reply = round_trip(fd, agent::encode_sign_request(key, data, agent::kFlagRsaSha2_256));
                lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
                if (reply.empty() || reply[0] != static_cast<std::uint8_t>(agent::MsgType::SignResponse)) {
                    std::fprintf(stderr, "signature %d failed\n", i);
                    std::exit(4);
                }
            }
            ::close(fd);
        });
    }
    for (auto& t : threads) t.join();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) { return all[static_cast<std::size_t>(p * static_cast<double>(all.size() - 1))]; };
    std::printf("clients=%d signatures=%zu p50_us=%.1f p99_us=%.1f per_second=%.0f\n", clients, all.size(), pct(0.50),
                pct(0.99), static_cast<double>(all.size()) / seconds);
    return 0;
}
