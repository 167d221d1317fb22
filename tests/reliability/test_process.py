# SPDX-License-Identifier: Apache-2.0
"""The daemon's life: killed in the middle of a renewal and started again (it
serves at once, its stale sockets do not block it, and the login comes back
from the kernel keyring); SIGHUP with every kind of broken config (the old
config stays, the log names file and line); two daemons started at once
(exactly one serves); and a machine clock five minutes off Vault's, either way
(certificates still work, doctor reports the skew)."""

import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import SSHCERTD, Sshd, VaultSshTestCase, profile_toml, standin_only, stop_process, wait_for

RENEWING_TTL = 9  # seconds: renewal of a certificate in use is due 6 s after it arrives


class ProcessLife(VaultSshTestCase):
    def setUp(self):
        super().setUp()
        if self.vault.is_standin:
            self.vault.clear_faults()
            self.addCleanup(self.vault.clear_faults)

    def agent_answers(self, d):
        r = subprocess.run(["ssh-add", "-l"], env=d.agent_env(), capture_output=True, text=True, timeout=10)
        return r.returncode in (0, 1) and "error" not in r.stderr.lower()

    @standin_only
    def test_sigkill_in_the_middle_of_a_renewal_then_a_start_serves_at_once_without_a_new_login(self):
        profiles = profile_toml("local", ["127.0.0.1"], "dev", mount=self.mount, ttl=f"{RENEWING_TTL}s")
        d = self.logged_in_daemon(profiles)
        self.assert_ssh_echoes(d, "before")
        sign = f"/v1/{self.mount}/sign/dev"
        self.vault.clear_requests()
        self.vault.set_faults(path_prefix=f"{self.mount}/sign/", hang=True)
        wait_for(lambda: any(r["path"] == sign and r["status"] is None for r in self.vault.requests()),
                 "the background renewal to reach Vault", timeout=RENEWING_TTL + 5)
        d.kill()
        self.vault.clear_faults()
        self.vault.clear_requests()
        left = sorted(os.listdir(d.socket_dir))
        self.assertIn("agent.sock", left, "the killed daemon's sockets stay behind")

        started = time.monotonic()
        d.start()
        wait_for(lambda: self.agent_answers(d), "the agent to answer after the restart")
        ready = time.monotonic() - started
        wait_for(lambda: self.status(d)["logged_in"], "the kept login to resume")
        self.assert_ssh_echoes(d, "after")
        paths = [r["path"] for r in self.vault.requests()]
        self.assertFalse([p for p in paths if "/login" in p], f"logged in again: {paths}")
        print(f"\n  killed during a renewal; started again with {len(left)} stale files: serving after "
              f"{ready * 1000:.0f} ms, no new login", end=" ")

    def test_sighup_with_a_broken_config_keeps_the_old_one_and_names_file_and_line(self):
        d = self.logged_in_daemon()
        good = open(d.config_path).read()
        broken = {
            "syntax": (good + "\n[agent\nrenew_window = \n", 0),
            "unknown key": (good + "\n[agent]\nrenew_windw = \"5m\"\n", 1),
            "bad value": (good + "\n[agent]\nrenew_window = \"soon\"\n", 1),
        }
        lines = good.count("\n") + 2  # the broken part starts after the good config and a blank line
        for kind, (text, offset) in broken.items():
            with self.subTest(kind):
                self.write_config(d, text)
                report = self.hup_until_the_reload_fails(d)
                self.assertRegex(report, rf"{d.config_path}:{lines + offset}\b", report)
                self.assert_still_configured(d)
        with self.subTest("missing file"):
            os.unlink(d.config_path)
            report = self.hup_until_the_reload_fails(d)
            self.assertIn(d.config_path, report)
            self.assert_still_configured(d)
        self.write_config(d, good)
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in d.log(), "the good config to load")

    def write_config(self, d, text):
        with open(d.config_path, "w") as f:
            f.write(text)

    def hup_until_the_reload_fails(self, d):
        failures = d.log().count("reload failed")
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_for(lambda: d.log().count("reload failed") > failures, "the reload to fail")
        return d.log().split("reload failed")[-1].splitlines()[0]

    def assert_still_configured(self, d):
        self.assertIsNone(d.proc.poll(), d.log()[-2000:])
        self.assertEqual(self.status(d)["config"], d.config_path)
        self.assert_ssh_echoes(d, "old-config")

    def test_two_daemons_started_at_once_exactly_one_serves_and_the_other_says_why(self):
        for attempt in range(5):  # the race is narrow; start the pair several times
            with self.subTest(attempt=attempt):
                d = self.daemon(start=False)
                procs = [subprocess.Popen([SSHCERTD], env=d.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True) for _ in range(2)]
                for p in procs:
                    self.addCleanup(lambda p=p: (stop_process(p), p.stdout.close()))
                wait_for(lambda: any(p.poll() is not None for p in procs), "one of the two daemons to give up")
                loser = next(p for p in procs if p.poll() is not None)
                winner = next(p for p in procs if p is not loser)
                out = loser.stdout.read()
                self.assertNotEqual(loser.returncode, 0)
                self.assertIn("already running", out)
                self.assertIn(str(winner.pid), out, "the message names the daemon that serves")
                time.sleep(0.5)
                self.assertIsNone(winner.poll(), "the winner must keep serving")
                self.assertTrue(self.agent_answers(d))
                self.assertTrue(d.control("status")["ok"])
                stop_process(winner)
                shutil.rmtree(d.runtime)
                os.makedirs(d.runtime, mode=0o700)

    @standin_only
    def test_a_clock_five_minutes_off_vault_either_way_still_gives_working_certificates(self):
        for offset in (300, -300):
            with self.subTest(vault_ahead_by=offset):
                # Vault and the host agree on the time (the host's sshd runs under faketime); this machine is off.
                self.vault.set_time_offset(offset)
                self.addCleanup(self.vault.set_time_offset, 0)
                host = Sshd(self.work.path + f"/host{offset}", [self.ca_key], self.work.cleanup, start=False)
                host.start(env={"FAKETIME": f"{offset:+d}", "LD_PRELOAD": faketime_library()})
                d = self.logged_in_daemon()
                d.wait_for_clock_probe()
                self.assertAlmostEqual(self.status(d)["clock_skew_seconds"], offset, delta=5)
                self.assert_ssh_echoes(d, "skewed", sshd=host)
                held = self.status(d)["certificates"]
                self.assertEqual(len(held), 1)
                self.assertEqual(held[0]["warnings"], [], "a certificate valid by Vault's clock is flagged")
                doctor = d.sshcert("doctor")
                self.assertRegex(doctor.stdout, rf"clock is 5m\S* {'ahead of' if offset > 0 else 'behind'} this machine's")
                print(f"\n  Vault {offset:+d} s off this machine: clock_skew_seconds "
                      f"{self.status(d)['clock_skew_seconds']}, ssh works", end=" ")
                stop_process(d.proc)


def faketime_library():
    if not shutil.which("faketime"):
        raise unittest.SkipTest("needs faketime (Debian package faketime) to give the host another clock")
    for path in ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"):
        if os.path.exists(path):
            return path
    raise unittest.SkipTest("libfaketime.so.1 not found")


if __name__ == "__main__":
    unittest.main()
