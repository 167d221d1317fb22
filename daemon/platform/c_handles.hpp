// SPDX-License-Identifier: Apache-2.0
// Owning aliases for C library handles, one line per type. Give every C
// allocation to its owner in the same statement.
#pragma once

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include <openssl/crypto.h>

#include <cstring>
#include <memory>

namespace sshcert {

template <auto FreeFn>
struct CFree {
    template <typename T>
    void operator()(T* p) const noexcept { FreeFn(p); }
};

using CurlEasy = std::unique_ptr<CURL, CFree<curl_easy_cleanup>>;
using CurlShare = std::unique_ptr<CURLSH, CFree<curl_share_cleanup>>;
/// Header lists carry the Vault token: wiped before they are freed.
inline void wipe_and_free_slist(curl_slist* list) noexcept {
    for (curl_slist* p = list; p; p = p->next) OPENSSL_cleanse(p->data, std::strlen(p->data));
    curl_slist_free_all(list);
}
using CurlHeaders = std::unique_ptr<curl_slist, CFree<wipe_and_free_slist>>;
using EvpPkey = std::unique_ptr<EVP_PKEY, CFree<EVP_PKEY_free>>;
using EvpPkeyCtx = std::unique_ptr<EVP_PKEY_CTX, CFree<EVP_PKEY_CTX_free>>;
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, CFree<EVP_MD_CTX_free>>;
using Bignum = std::unique_ptr<BIGNUM, CFree<BN_free>>;

}  // namespace sshcert
