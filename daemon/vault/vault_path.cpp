// SPDX-License-Identifier: Apache-2.0
#include "vault_path.hpp"

#include "vault_error.hpp"

namespace sshcert {

namespace {
bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

bool dot_segment(std::string_view s) { return s == "." || s == ".."; }

Error refused(const PathPart& part, const std::string& why) {
    std::string what = part.what.empty() ? "path" : std::string(part.what);
    return Error{Errc::InvalidArgument,
                 "the " + what + " '" + sanitize_vault_text(part.text) + "' cannot be used in a Vault path: " + why};
}

/// Calls `piece` on each '/'-separated piece of `s`; stops at the first one it refuses.
template <typename F>
bool each_piece(std::string_view s, F piece) {
    for (std::size_t start = 0;;) {
        std::size_t slash = s.find('/', start);
        if (!piece(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start))) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}
}  // namespace

std::string escape_segment(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_escaped(s, out);
    return out;
}

void append_escaped(std::string_view s, std::string& out) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (unreserved(c)) {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        }
    }
}

Result<std::string> vault_path(const std::vector<PathPart>& parts) {
    std::string out;
    auto segment = [&out](std::string_view s) {
        if (!out.empty()) out += '/';
        out += escape_segment(s);
    };
    for (const auto& part : parts) {
        if (part.kind == PathPart::Kind::Name) {
            if (part.text.empty()) return refused(part, "it is empty");
            // Vault decodes %2F back to '/', so the pieces of a name must not be dot segments either.
            if (!each_piece(part.text, [](std::string_view p) { return !dot_segment(p); }))
                return refused(part, "'.' and '..' are not names");
            segment(part.text);
            continue;
        }
        std::string_view text = part.text;
        while (!text.empty() && text.front() == '/') text.remove_prefix(1);
        while (!text.empty() && text.back() == '/') text.remove_suffix(1);
        if (text.empty()) return refused(part, "it is empty");
        std::string why;
        bool ok = each_piece(text, [&](std::string_view p) {
            if (p.empty()) why = "it has an empty part ('//')";
            else if (dot_segment(p)) why = "'.' and '..' are not names";
            else segment(p);
            return why.empty();
        });
        if (!ok) return refused(part, why);
    }
    return out;
}

}  // namespace sshcert
