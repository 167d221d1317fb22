# SPDX-License-Identifier: Apache-2.0
"""What the package installs, checked with the tools that consume it: systemd-analyze
on the units, man and groff on the man pages, bash and zsh on the completions, and
for the .deb itself cpack, lintian, dpkg, and the installed binaries running the
login journey against the Vault stand-in and a real sshd."""

import configparser
import glob
import gzip
import os
import re
import shutil
import subprocess
import unittest

from harness import (BUILD_DIR, LOGIN_USER, PASSWORD, SOURCE_DIR, SSHCERT, SSHCERTD, Daemon, LoginSetup, Workdir,
                     class_workdir)

UNITS = ["sshcertd.socket", "sshcertd-control.socket", "sshcertd.service"]
UNIT_DIR = os.path.join(SOURCE_DIR, "packaging", "systemd")
MAN_DIR = os.path.join(BUILD_DIR, "packaging", "man")
MAN_PAGES = ["sshcert.1", "sshcertd.1", "sshcert.toml.5"]
COMPLETIONS = os.path.join(BUILD_DIR, "packaging", "completions")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


def man_tree(root, pages_dir):
    """A MANPATH directory holding our gzipped pages, so `man sshcertd(1)` finds them."""
    for page in MAN_PAGES:
        section_dir = os.path.join(root, "man" + page[-1])
        os.makedirs(section_dir, exist_ok=True)
        shutil.copy(os.path.join(pages_dir, page + ".gz"), section_dir)
    return root


def verify_units(paths, manpath, runtime_dir):
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime_dir, MANPATH=manpath + ":")
    r = run("systemd-analyze", "--user", "verify", *paths, env=env)
    return r.returncode, [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]


class PackagingFiles(unittest.TestCase):
    """The units, man pages and completions in the source and build trees."""

    def setUp(self):
        self.work = Workdir(self)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "needs systemd-analyze")
    def test_units_pass_systemd_analyze_verify(self):
        runtime = os.path.join(self.work.path, "run")
        os.makedirs(runtime, mode=0o700)
        rc, lines = verify_units([os.path.join(UNIT_DIR, u) for u in UNITS],
                                 man_tree(os.path.join(self.work.path, "man"), MAN_DIR), runtime)
        # ExecStart names the installed binary; the .deb test verifies the installed units with nothing excused.
        if not os.path.exists("/usr/bin/sshcertd"):
            excused = "sshcertd.service: Command /usr/bin/sshcertd is not executable: No such file or directory"
            self.assertEqual(lines, [excused])
        else:
            self.assertEqual((rc, lines), (0, []))

    def test_units_match_what_the_daemon_adopts(self):
        def unit(name):
            p = configparser.ConfigParser(strict=False, interpolation=None)
            p.optionxform = str
            p.read(os.path.join(UNIT_DIR, name))
            return p
        for name, fd_name, sock in (("sshcertd.socket", "agent", "agent.sock"),
                                    ("sshcertd-control.socket", "control", "control.sock")):
            s = unit(name)["Socket"]
            self.assertEqual(s["ListenStream"], f"%t/sshcert/{sock}")
            self.assertEqual((s["FileDescriptorName"], s["Service"]), (fd_name, "sshcertd.service"))
            self.assertEqual((s["SocketMode"], s["DirectoryMode"]), ("0600", "0700"))
        service = unit("sshcertd.service")
        self.assertEqual(service["Service"]["Type"], "notify")
        self.assertEqual(service["Unit"]["Requires"], "sshcertd.socket sshcertd-control.socket")

    def test_man_pages_format_without_warnings_and_have_the_usual_sections(self):
        for page in MAN_PAGES:
            path = os.path.join(MAN_DIR, page + ".gz")
            r = run("man", "--warnings", "-E", "UTF-8", "-l", path, env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
            self.assertEqual((r.returncode, r.stderr), (0, ""), page)
            with gzip.open(path, "rt") as f:
                source = f.read()
            self.assertNotIn("@PROJECT_VERSION@", source)
            sections = re.findall(r"^\.SH (.+)$", source, re.M)
            expected = ["NAME", "SYNOPSIS", "DESCRIPTION", "FILES", "EXAMPLES", "SEE ALSO"]
            if page.endswith(".1"):
                expected += ["OPTIONS", "ENVIRONMENT", "EXIT STATUS"]
            for s in expected:
                self.assertIn(s, sections, page)

    def test_man_pages_cover_every_verb_and_option_of_the_binaries(self):
        with gzip.open(os.path.join(MAN_DIR, "sshcert.1.gz"), "rt") as f:
            sshcert_page = f.read().replace("\\-", "-")
        verbs = re.findall(r"^  (\w[\w-]*) ", run(SSHCERT, "--help").stdout.split("Subcommands:")[1], re.M)
        self.assertIn("setup", verbs)
        for verb in verbs:
            self.assertRegex(sshcert_page, rf"\.B {verb}\b", verb)
        with gzip.open(os.path.join(MAN_DIR, "sshcertd.1.gz"), "rt") as f:
            sshcertd_page = f.read().replace("\\-", "-")
        for option in re.findall(r"^\s+(?:-\w,)?(--[\w-]+)", run(SSHCERTD, "--help").stdout, re.M):
            self.assertIn(option, sshcertd_page)

    @unittest.skipUnless(os.path.exists(BASH_COMPLETION), "needs bash-completion")
    def test_bash_completion_completes_verbs_option_values_and_ssh_and_exec_arguments(self):
        script = f"""
source {BASH_COMPLETION}
source {os.path.join(COMPLETIONS, "sshcert")}
compopt() {{ :; }}  # only meaningful inside readline
complete_line() {{
    COMP_WORDS=("$@"); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
    COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
    _sshcert sshcert "${{COMP_WORDS[-1]}}" "${{COMP_WORDS[-2]}}"
    echo "${{COMPREPLY[*]}}"
}}
complete_line sshcert lo
complete_line sshcert login --method ""
complete_line sshcert -c /etc/ss completion ""
complete_line sshcert ssh -o StrictHostK
complete_line sshcert exec --profile prod -- ssh -o StrictHostK
complete_line sshcert ssh-config --in
"""
        r = run("bash", "-c", script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["login logout", "token userpass ldap oidc approle cert aws", "-h --help bash zsh",
                                                 "StrictHostKeyChecking=", "StrictHostKeyChecking=", "--install"])

    @unittest.skipUnless(shutil.which("zsh"), "needs zsh")
    def test_zsh_completion_completes_verbs_option_values_and_ssh_and_exec_arguments(self):
        driver = os.path.join(SOURCE_DIR, "tests", "integration", "zsh_complete.zsh")

        def complete(line):
            r = run("zsh", "-f", driver, COMPLETIONS, line)
            self.assertEqual(r.returncode, 0, r.stderr)
            return sorted(set(r.stdout.split()))
        self.assertEqual(complete("sshcert "), ["ca", "cloud-init", "completion", "doctor", "ensure", "exec", "help", "known-hosts", "login",
                                                "logout", "profiles", "reload", "setup", "ssh", "ssh-config", "status", "version"])
        self.assertEqual(complete("sshcert doctor --"), ["--help", "--json", "--user"])
        self.assertEqual(complete("sshcert login --method "), ["approle", "aws", "cert", "ldap", "oidc", "token", "userpass"])
        self.assertEqual(complete("sshcert ssh -o StrictHostK"), ["StrictHostKeyChecking"])
        self.assertEqual(complete("sshcert exec -- ssh -o StrictHostK"), ["StrictHostKeyChecking"])


@unittest.skipUnless(shutil.which("cpack") and shutil.which("dpkg-deb"), "needs cpack and dpkg")
class DebianPackage(unittest.TestCase):
    """The .deb: built with cpack, checked by lintian, installed with dpkg, then used."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = class_workdir(cls)
        out = os.path.join(cls.tmp, "out")
        r = run("cpack", "-G", "DEB", "-B", out, cwd=BUILD_DIR)
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        cls.version = run(SSHCERT, "version").stdout.split()[1]
        cls.deb = os.path.join(out, f"sshcert_{cls.version}_{run('dpkg', '--print-architecture').stdout.strip()}.deb")

    def field(self, name):
        return run("dpkg-deb", "-f", self.deb, name).stdout.strip()

    def test_control_fields_conffile_and_contents(self):
        self.assertTrue(os.path.exists(self.deb), os.listdir(os.path.dirname(self.deb)))
        self.assertTrue(glob.glob(os.path.join(os.path.dirname(self.deb), "sshcert-dbgsym_*.ddeb")), "debug symbols")
        depends = self.field("Depends")
        for dep in ("openssh-client", "libc6", "libcurl4", "libssl3", "libsystemd0", "libkeyutils1"):  # the libraries from shlibdeps
            self.assertIn(dep, depends)
        self.assertEqual(self.field("Version"), self.version)
        control = os.path.join(self.tmp, "control")
        run("dpkg-deb", "-e", self.deb, control)
        with open(os.path.join(control, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/sshcert/config.toml"])
        for script in ("postinst", "postrm"):
            self.assertEqual(os.stat(os.path.join(control, script)).st_mode & 0o777, 0o755)
        files = {line.split()[-1].lstrip(".") for line in run("dpkg-deb", "-c", self.deb).stdout.splitlines()
                 if not line.startswith("d")}
        self.assertEqual(files, {
            "/etc/sshcert/config.toml", "/usr/bin/sshcert", "/usr/bin/sshcertd",
            "/usr/lib/systemd/user/sshcertd.socket", "/usr/lib/systemd/user/sshcertd-control.socket",
            "/usr/lib/systemd/user/sshcertd.service",
            "/usr/share/bash-completion/completions/sshcert", "/usr/share/zsh/vendor-completions/_sshcert",
            "/usr/share/man/man1/sshcert.1.gz", "/usr/share/man/man1/sshcertd.1.gz", "/usr/share/man/man5/sshcert.toml.5.gz",
            "/usr/share/doc/sshcert/copyright", "/usr/share/doc/sshcert/changelog.gz"})

    @unittest.skipUnless(shutil.which("lintian"), "needs lintian")
    def test_lintian_finds_no_errors_or_warnings(self):
        r = run("lintian", "--fail-on", "error,warning", self.deb)
        print("\nlintian:\n" + (r.stdout or "(nothing to report)\n"), end="")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([line for line in r.stdout.splitlines() if line[:2] in ("E:", "W:")], [])

    def test_installed_package_runs_the_login_journey_and_its_man_pages_are_found(self):
        work = Workdir(self)
        installed = os.geteuid() == 0 and run("dpkg-query", "-W", "sshcert").returncode != 0
        if installed:
            root = "/"
            self.install_with_dpkg(work)
        else:
            # Not root, or the machine has its own sshcert installed: unpack instead, and say so.
            print("\nnot installing with dpkg (" + ("not root" if os.geteuid() else "sshcert is already installed") +
                  "); running the unpacked package instead", end="")
            root = os.path.join(work.path, "root")
            run("dpkg-deb", "-x", self.deb, root)
        usr = os.path.join(root, "usr")

        man = run("man", "-w", "sshcert", env=dict(os.environ, MANPATH=os.path.join(usr, "share", "man") + ":"))
        self.assertEqual(man.stdout.strip(), os.path.join(usr, "share/man/man1/sshcert.1.gz"))
        if installed and shutil.which("systemd-analyze"):
            runtime = os.path.join(work.path, "run")
            os.makedirs(runtime, mode=0o700)
            rc, lines = verify_units([f"/usr/lib/systemd/user/{u}" for u in UNITS], "/usr/share/man", runtime)
            self.assertEqual((rc, lines), (0, []))

        fixture = LoginSetup(work.path, work.cleanup)
        config = fixture.config_toml()
        d = Daemon(work.path, fixture.vault.addr, config, work.cleanup, start=False,
                   sshcertd=os.path.join(usr, "bin", "sshcertd"), sshcert=os.path.join(usr, "bin", "sshcert"))
        if installed:
            # The system-wide conffile stands in for a user's own file.
            with open("/etc/sshcert/config.toml", "w") as f:
                f.write(config)
            os.remove(d.config_path)
        d.start()
        r = d.sshcert("login", "--username", "alice", "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = d.sshcert("ssh", *fixture.sshd.ssh_options(), f"{LOGIN_USER}@127.0.0.1", "echo installed-and-working")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "installed-and-working"), r.stderr)
        status = d.sshcert("status", "--json")
        self.assertIn('"config": "/etc/sshcert/config.toml"' if installed else '"config": "' + d.config_path, status.stdout)

    def install_with_dpkg(self, work):
        wants = "/etc/systemd/user/sockets.target.wants"
        r = run("dpkg", "-i", self.deb)
        work.cleanup(self.purge)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Enabled for every user the way Debian's own packages do it (deb-systemd-helper --user).
        for unit in ("sshcertd.socket", "sshcertd-control.socket"):
            self.assertEqual(os.path.realpath(os.path.join(wants, unit)), os.path.realpath(f"/usr/lib/systemd/user/{unit}"))
        with open("/etc/sshcert/config.toml") as f:
            self.assertTrue(all(line.startswith("#") or not line.strip() for line in f), "the conffile sets nothing")

    def purge(self):
        r = run("dpkg", "--purge", "sshcert")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.lexists("/etc/systemd/user/sockets.target.wants/sshcertd.socket"))
        self.assertFalse(os.path.exists("/etc/sshcert/config.toml"))
        self.assertFalse(os.path.exists("/usr/bin/sshcertd"))


if __name__ == "__main__":
    unittest.main()
