// SPDX-License-Identifier: Apache-2.0
// The one way to include Boost.Asio. Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>, which breaks g++ 12 in C++20
// mode (chriskohlhoff/asio#944); including it first fixes that.
#pragma once

#include <utility>

#include <boost/asio.hpp>

namespace sshcert {
namespace asio = boost::asio;
using asio::local::stream_protocol;
}  // namespace sshcert
