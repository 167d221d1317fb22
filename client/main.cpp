// SPDX-License-Identifier: Apache-2.0
// sshcert: the thin command-line client of sshcertd.
#include "cli.hpp"

int main(int argc, char** argv) { return sshcert::client::run(argc, argv); }
