// SPDX-License-Identifier: Apache-2.0
#include "ssh_wire.hpp"

#include <array>

namespace sshcert::wire {

std::uint32_t load_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

void store_be32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

bool Reader::take(std::size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
        ok_ = false;
        return false;
    }
    return true;
}

std::uint8_t Reader::u8() {
    if (!take(1)) return 0;
    return data_[pos_++];
}

std::uint32_t Reader::u32() {
    if (!take(4)) return 0;
    auto v = load_be32(data_.data() + pos_);
    pos_ += 4;
    return v;
}

std::uint64_t Reader::u64() {
    std::uint64_t hi = u32();
    std::uint64_t lo = u32();
    return ok_ ? (hi << 32) | lo : 0;
}

ByteView Reader::string() {
    std::uint32_t n = u32();
    if (!take(n)) return {};
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
}

ByteView Reader::rest() {
    if (!ok_) return {};
    ByteView v = data_.subspan(pos_);
    pos_ = data_.size();
    return v;
}

Writer& Writer::u8(std::uint8_t v) {
    out_.push_back(v);
    return *this;
}

Writer& Writer::u32(std::uint32_t v) {
    std::array<std::uint8_t, 4> b{};
    store_be32(b.data(), v);
    out_.insert(out_.end(), b.begin(), b.end());
    return *this;
}

Writer& Writer::u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    return u32(static_cast<std::uint32_t>(v));
}

Writer& Writer::string(ByteView v) {
    u32(static_cast<std::uint32_t>(v.size()));
    return raw(v);
}

Writer& Writer::raw(ByteView v) {
    out_.insert(out_.end(), v.begin(), v.end());
    return *this;
}

namespace {
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int decode_char(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}
}  // namespace

std::string base64_encode(ByteView data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (std::size_t left = data.size() - i; left > 0) {
        std::uint32_t n = std::uint32_t{data[i]} << 16;
        if (left == 2) n |= std::uint32_t{data[i + 1]} << 8;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += left == 2 ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

bool base64_decode(std::string_view text, Bytes& out) {
    out.clear();
    if (text.size() % 4 != 0) return false;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = text[i + k];
            bool last_quad = i + 4 == text.size();
            if (c == '=' && last_quad && k >= 2) {
                v[k] = 0;
                ++pad;
                continue;
            }
            if (pad > 0) return false;  // data after padding
            v[k] = decode_char(c);
            if (v[k] < 0) return false;
        }
        std::uint32_t n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) | (std::uint32_t(v[2]) << 6) |
                          std::uint32_t(v[3]);
        out.push_back(static_cast<std::uint8_t>(n >> 16));
        if (pad < 2) out.push_back(static_cast<std::uint8_t>(n >> 8));
        if (pad < 1) out.push_back(static_cast<std::uint8_t>(n));
    }
    return true;
}

}  // namespace sshcert::wire
