// SPDX-License-Identifier: Apache-2.0
// SSH wire encoding (RFC 4251 section 5): uint32, uint64, string, as used by
// the agent protocol and OpenSSH certificates. Readers never throw; they
// report a short buffer through ok() so parsers can turn it into one error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sshcert::wire {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView view(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Sequential reader over untrusted bytes. After the first short read every
/// later read returns empty values and ok() stays false.
class Reader {
public:
    explicit Reader(ByteView data) : data_(data) {}

    std::uint8_t u8();
    std::uint32_t u32();
    std::uint64_t u64();
    /// A length-prefixed string; the view points into the reader's buffer.
    ByteView string();
    std::string_view string_view() { return as_chars(string()); }
    /// Everything not yet read.
    ByteView rest();

    bool ok() const noexcept { return ok_; }
    bool at_end() const noexcept { return pos_ == data_.size(); }
    std::size_t remaining() const noexcept { return data_.size() - pos_; }

private:
    bool take(std::size_t n);
    ByteView data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

/// Appends SSH-encoded values to a byte vector.
class Writer {
public:
    Writer& u8(std::uint8_t v);
    Writer& u32(std::uint32_t v);
    Writer& u64(std::uint64_t v);
    Writer& string(ByteView v);
    Writer& string(std::string_view v) { return string(view(v)); }
    Writer& raw(ByteView v);

    Bytes& bytes() noexcept { return out_; }
    Bytes take() noexcept { return std::move(out_); }

private:
    Bytes out_;
};

std::uint32_t load_be32(const std::uint8_t* p);
void store_be32(std::uint8_t* p, std::uint32_t v);

std::string base64_encode(ByteView data);
/// Strict standard base64 (padding required, no whitespace); false on bad input.
bool base64_decode(std::string_view text, Bytes& out);

}  // namespace sshcert::wire
