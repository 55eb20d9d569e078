#!/usr/bin/env python3
"""Start-up to "Successfully connected", alternating builds: python3 bench/startup.py old=OLD.jar,new=NEW.jar [runs] [java args].

Each run starts `java -jar` against one `dev --no-worker` control plane (from the first jar), reads the
worker's CPU (all threads, and without the JIT compiler threads) when the line appears, then sends SIGTERM
and times the exit. `label=jar@-XX:...` gives one build its own JVM flags (e.g. a CDS archive); NICE="nice -n -5"
prefixes the measured command."""
import os, subprocess, sys, time, signal, statistics, socket

jars = sys.argv[1].split(',')          # label=path,...
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
nice = os.environ.get('NICE','').split()
extra = sys.argv[3].split() if len(sys.argv) > 3 and sys.argv[3] else []
plane_jar = jars[0].split('=', 1)[1].split('@')[0]
port = 18000 + os.getpid() % 1000
env = dict(os.environ, OZ_ADMIN_API_KEY='adminkey-startup-bench')
plane = subprocess.Popen(['java', '-jar', plane_jar, 'dev', '--no-worker', '--port', str(port)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(200):
    try:
        socket.create_connection(('127.0.0.1', port), 0.2).close(); break
    except OSError:
        time.sleep(0.1)
tick = os.sysconf('SC_CLK_TCK')
res = {j.split('=')[0]: [] for j in jars}
try:
    for r in range(runs):
        for spec in (jars if r % 2 == 0 else list(reversed(jars))):
            label, path = spec.split('=', 1)
            path, _, own = path.partition('@')
            wenv = dict(os.environ, OZ_API_KEY='adminkey-startup-bench')
            wenv.pop('JAVA_TOOL_OPTIONS', None)
            cmd = nice + ['java'] + extra + own.split() + ['-jar', path, '--worker-id', f'bench-{label}-{r}', '--metrics-port', '0',
                   '--ws-url', f'ws://127.0.0.1:{port}/api/v1/selfhosted/worker/ws']
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, env=wenv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            lines = []
            connected = None
            for line in p.stderr:
                lines.append(line)
                if 'Successfully connected' in line:
                    connected = time.monotonic() - t0
                    cpu = 0.0; jit = 0.0
                    for tid in os.listdir(f'/proc/{p.pid}/task'):
                        try:
                            raw = open(f'/proc/{p.pid}/task/{tid}/stat').read()
                        except OSError:
                            continue
                        f2 = raw.rsplit(')', 1)[1].split(); v = (int(f2[11]) + int(f2[12])) / tick
                        cpu += v
                        if 'CompilerThre' in raw[raw.index('('):raw.rindex(')')]:
                            jit += v
                    break
            if connected is None:
                print(''.join(lines)); raise SystemExit('no connect')
            time.sleep(0.5)
            t1 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            rest = p.stderr.read()
            p.wait()
            stop = time.monotonic() - t1
            res[label].append((connected, cpu, stop, cpu - jit))
            print(f'{label} run {r}: connected {connected*1000:.0f} ms, cpu {cpu:.2f} s (app {cpu-jit:.2f}), shutdown {stop*1000:.0f} ms, load {os.getloadavg()[0]:.1f}', flush=True)
finally:
    plane.terminate(); plane.wait()
for label, rs in res.items():
    c = sorted(x[0] for x in rs); a = sorted(x[3] for x in rs); u = sorted(x[1] for x in rs); s = sorted(x[2] for x in rs)
    print(f'{label}: connected median {statistics.median(c)*1000:.0f} ms (min {c[0]*1000:.0f}, max {c[-1]*1000:.0f}); '
          f'cpu median {statistics.median(u):.2f} s (without JIT threads {statistics.median(a):.2f} s); shutdown median {statistics.median(s)*1000:.0f} ms (max {s[-1]*1000:.0f})')
