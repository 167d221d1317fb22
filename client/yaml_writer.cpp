// SPDX-License-Identifier: Apache-2.0
#include "yaml_writer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace sshcert::client {

namespace {

using Json = nlohmann::ordered_json;

bool printable_ascii(char c) { return c >= 0x20 && c <= 0x7e; }

/// A plain scalar that YAML 1.1 reads back as this very string: it starts with
/// a letter or '/', so it is never a number, date, alias or indicator; it is not
/// one of 1.1's booleans or null; and it holds nothing that ends a plain scalar.
bool plain_safe(std::string_view s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s.front())) || s.front() == '/')) return false;
    if (s.back() == ' ' || s.back() == ':') return false;
    if (!std::all_of(s.begin(), s.end(), printable_ascii)) return false;
    if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) return false;
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    static constexpr std::array<std::string_view, 9> kYaml11Words{"y", "n", "yes", "no", "on", "off", "true", "false", "null"};
    return std::find(kYaml11Words.begin(), kYaml11Words.end(), lower) == kYaml11Words.end();
}

/// A `|` (one final newline kept) or `|-` (none) block literal holds the text
/// unchanged when every line is printable and the first does not start with
/// white space (that would need an indentation indicator).
bool literal_safe(std::string_view s) {
    if (s.find('\n') == std::string_view::npos || s.front() == ' ' || s.front() == '\t' || s.front() == '\n') return false;
    if (s.ends_with("\n\n")) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return printable_ascii(c) || c == '\n' || c == '\t'; });
}

/// A string on one line: plain if safe, else single-quoted if printable, else double-quoted.
std::string single_line(const std::string& s) {
    if (plain_safe(s)) return s;
    if (std::all_of(s.begin(), s.end(), printable_ascii)) {
        std::string quoted = "'";
        for (char c : s) quoted += c == '\'' ? std::string("''") : std::string(1, c);
        return quoted + "'";
    }
    // JSON's string syntax is a subset of YAML's double-quoted scalars.
    return Json(s).dump(-1, ' ', true, Json::error_handler_t::replace);
}

void write_scalar(std::string& out, const Json& v, std::size_t indent) {
    if (!v.is_string()) {
        out += ' ' + v.dump() + '\n';
        return;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (literal_safe(s)) {
        out += s.ends_with('\n') ? " |\n" : " |-\n";
        std::string_view rest = s;
        while (!rest.empty()) {
            auto nl = rest.find('\n');
            auto line = rest.substr(0, nl);
            if (!line.empty()) out.append(indent, ' ').append(line);
            out += '\n';
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        }
    } else {
        out += ' ' + single_line(s) + '\n';
    }
}

void write_node(std::string& out, const Json& v, std::size_t indent);

void write_mapping(std::string& out, const Json& obj, std::size_t indent) {
    for (const auto& [key, value] : obj.items()) {
        out.append(indent, ' ').append(single_line(key)).append(":");
        write_node(out, value, indent + 2);
    }
}

void write_sequence(std::string& out, const Json& arr, std::size_t indent) {
    for (const auto& item : arr) {
        if ((item.is_object() || item.is_array()) && !item.empty()) {
            // Written one level deeper, then its first indentation becomes the "- " marker.
            std::string nested;
            if (item.is_object()) write_mapping(nested, item, indent + 2);
            else write_sequence(nested, item, indent + 2);
            nested.replace(indent, 2, "- ");
            out += nested;
        } else {
            out.append(indent, ' ').append("-");
            write_node(out, item, indent + 2);
        }
    }
}

/// Writes what follows "key:" or "-": a scalar on the same line, or a nested block.
void write_node(std::string& out, const Json& v, std::size_t indent) {
    if (v.is_object() && !v.empty()) {
        out += '\n';
        write_mapping(out, v, indent);
    } else if (v.is_array() && !v.empty()) {
        out += '\n';
        write_sequence(out, v, indent);
    } else if (v.is_object()) {
        out += " {}\n";
    } else if (v.is_array()) {
        out += " []\n";
    } else {
        write_scalar(out, v, indent);
    }
}

}  // namespace

std::string to_yaml(const Json& value) {
    std::string out;
    if (value.is_object() && !value.empty()) write_mapping(out, value, 0);
    else if (value.is_array() && !value.empty()) write_sequence(out, value, 0);
    else {
        write_node(out, value, 0);
        out.erase(0, 1);  // the space that separates a scalar from its key
    }
    return out;
}

}  // namespace sshcert::client
