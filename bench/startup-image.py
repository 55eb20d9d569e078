#!/usr/bin/env python3
"""Image start-up, alternating images: python3 bench/startup-image.py IMAGE_A,IMAGE_B [runs]. Wall time from
`docker run` to the "Successfully connected" log line (container creation included), and the JVM's CPU then.
The control plane is `dev --no-worker` from PLANE_JAR (default target/worker-fat.jar), on the host network."""
import os, subprocess, sys, time, statistics, socket
images = sys.argv[1].split(',')
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
port = 18500 + os.getpid() % 400
env = dict(os.environ, OZ_ADMIN_API_KEY='adminkey-startup-bench')
plane = subprocess.Popen(['java', '-jar', os.environ.get('PLANE_JAR', 'target/worker-fat.jar'), 'dev', '--no-worker', '--port', str(port)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(300):
    try:
        socket.create_connection(('127.0.0.1', port), 0.2).close(); break
    except OSError:
        time.sleep(0.1)
gid = str(os.stat('/var/run/docker.sock').st_gid)
tick = os.sysconf('SC_CLK_TCK')
res = {i: [] for i in images}
try:
    for r in range(runs):
        for img in (images if r % 2 == 0 else list(reversed(images))):
            name = f'oz-a-imgbench-{os.getpid()}-{r}'
            t0 = time.monotonic()
            p = subprocess.Popen(['docker', 'run', '--rm', '--name', name, '--network', 'host',
                '-v', '/var/run/docker.sock:/var/run/docker.sock', '--group-add', gid,
                '-e', 'OZ_API_KEY=adminkey-startup-bench', '-e', 'OTEL_EXPORTER_PROMETHEUS_PORT=0',
                img, '--worker-id', f'img-{r}', '--ws-url', f'ws://127.0.0.1:{port}/api/v1/selfhosted/worker/ws'],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            connected = None; cpu = None
            for line in p.stdout:
                if 'Successfully connected' in line:
                    connected = time.monotonic() - t0
                    pid = subprocess.run(['docker', 'inspect', '-f', '{{.State.Pid}}', name], capture_output=True, text=True).stdout.strip()
                    st = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
                    cpu = (int(st[11]) + int(st[12])) / tick
                    break
            subprocess.run(['docker', 'stop', '-t', '10', name], capture_output=True)
            p.wait()
            if connected is None:
                raise SystemExit('no connect for ' + img)
            res[img].append((connected, cpu))
            print(f'{img} run {r}: connected {connected*1000:.0f} ms (docker run to log line), cpu {cpu:.2f} s, load {os.getloadavg()[0]:.1f}', flush=True)
finally:
    plane.terminate(); plane.wait()
for img, rs in res.items():
    c = sorted(x[0] for x in rs); u = sorted(x[1] for x in rs)
    print(f'{img}: connected median {statistics.median(c)*1000:.0f} ms (min {c[0]*1000:.0f}, max {c[-1]*1000:.0f}); cpu median {statistics.median(u):.2f} s')
