// SPDX-License-Identifier: Apache-2.0
// sshcert cloud-init: prints user data that makes new instances trust the
// Vault SSH CA. Every input is read and checked before anything is printed,
// so a mistake never leaves half a document behind.
#include <iostream>

#include "ca_keys.hpp"
#include "cloud_init.hpp"
#include "commands.hpp"
#include "format.hpp"
#include "local_file.hpp"

namespace sshcert::client {

namespace {

/// More than any cloud accepts as user data, little enough to hold in memory.
constexpr std::size_t kMaxInputFileBytes = 1024 * 1024;

Result<std::string> read_input(const char* flag, const std::string& path) {
    auto data = read_local_file(path, kMaxInputFileBytes);
    if (!data) return Error{data.error().code, std::string(flag) + ": " + data.error().message};
    return data;
}

}  // namespace

int cmd_cloud_init(const Context& ctx, const CloudInitOptions& opts) {
    cloud_init::Inputs in;
    auto style = cloud_init::parse_style(opts.style);
    if (!style) return fail(style.error());
    in.style = *style;
    auto format = cloud_init::parse_format(opts.format);
    if (!format) return fail(format.error());
    in.format = *format;
    for (const auto& text : opts.principals) {
        auto mapping = cloud_init::parse_principal_mapping(text);
        if (!mapping) return fail(mapping.error());
        in.principals.push_back(std::move(*mapping));
    }
    if (opts.revoked_keys) {
        auto krl = read_input("--revoked-keys", *opts.revoked_keys);
        if (!krl) return fail(krl.error());
        if (auto st = cloud_init::check_revoked_keys(*krl, "--revoked-keys " + *opts.revoked_keys); !st) return fail(st.error());
        in.revoked_keys = std::move(*krl);
    }

    if (!opts.ca_key_files.empty()) {
        for (const auto& path : opts.ca_key_files) {
            auto text = read_input("--ca-key-file", path);
            if (!text) return fail(text.error());
            auto keys = parse_ca_keys(*text, "--ca-key-file " + path);
            if (!keys) return fail(keys.error());
            in.ca_keys.insert(in.ca_keys.end(), keys->begin(), keys->end());
        }
        in.origin = "the CA keys from " + join(opts.ca_key_files, ", ");
    } else {
        auto ca = ca_keys_for(ctx, opts.profile, std::nullopt);
        if (!ca) return fail(ca.error());
        in.ca_keys = std::move(ca->keys);
        in.origin = "the Vault SSH CA at mount '" + ca->mount + "'";
    }

    auto user_data = cloud_init::generate(in);
    if (!user_data) return fail(user_data.error());
    if (in.format != cloud_init::Format::Base64 && user_data->user_data_bytes > cloud_init::kEc2UserDataLimitBytes)
        std::cerr << "sshcert: note: the user data is " << user_data->user_data_bytes << " bytes; EC2 accepts at most "
                  << cloud_init::kEc2UserDataLimitBytes << "\n";
    std::cout << user_data->text << std::flush;
    if (!std::cout) return fail({Errc::InvalidArgument, "cannot write the user data to standard output"});
    return 0;
}

}  // namespace sshcert::client
