import Foundation
import SvcDNSTesting
import Testing

/// The README's walk-throughs, run exactly as written: each `$ ` line (with its indented continuation lines)
/// is one command, run in one bash in order, and the lines under it are what it must print. A newcomer who
/// pastes the block sees what the README shows.
///
/// It runs in private network and PID namespaces (`unshare --net --pid`), so its fixed ports cannot meet
/// anything on the host, and every process it starts dies with it. The namespace gets its own /proc
/// (`--mount-proc`): libdispatch's worker monitor reads `/proc/<tid>/stat` by the thread ids it sees, and
/// with the host's /proc those name other threads or none, and it stops the process (`ud2`, "registered
/// worker exited prematurely").
@Suite(.serialized) struct WalkthroughTests {
    struct Step: CustomStringConvertible {
        var command: String
        var expected: [String] = []
        var description: String { command }
    }

    /// The steps of the `console` block after `<!-- walkthrough: NAME -->` in the README.
    static func steps(_ name: String, in readme: String) throws -> [Step] {
        let lines = readme.components(separatedBy: "\n")
        guard let marker = lines.firstIndex(of: "<!-- walkthrough: \(name) -->"),
            let open = lines[marker...].firstIndex(of: "```console"),
            let close = lines[(open + 1)...].firstIndex(of: "```")
        else {
            throw TestFailure(description: "the README has no console block after <!-- walkthrough: \(name) -->")
        }
        var steps: [Step] = []
        for line in lines[(open + 1)..<close] where !line.isEmpty {
            if line.hasPrefix("$ ") {
                steps.append(Step(command: String(line.dropFirst(2))))
            } else if line.hasPrefix(" "), var last = steps.popLast(), last.expected.isEmpty {
                last.command += "\n" + line
                steps.append(last)
            } else if var last = steps.popLast() {
                last.expected.append(line)
                steps.append(last)
            }
        }
        return steps
    }

    /// A bash script running `steps` in order, each one's output and status into `folder/steps/N.*`. A `dig`
    /// whose output differs from the README is asked again for up to 2 s: a write reaches the other replicas
    /// a moment after it is acknowledged, and someone pasting line by line never sees that moment.
    static func script(_ steps: [Step], folder: String, binaries: String) -> String {
        var script = """
            ip link set lo up || { echo "cannot set up lo"; exit 1; }
            cd '\(ExampleTests.repository.path)'
            export PATH='\(binaries)':"$PATH" TMPDIR='\(folder)'
            steps='\(folder)/steps'

            """
        for (index, step) in steps.enumerated() {
            let retries = step.command.hasPrefix("dig ") ? 20 : 0
            script += """
                attempt=0
                while :; do
                { \(step.command)
                } > "$steps/\(index).out" 2>&1
                echo $? > "$steps/\(index).status"
                cmp -s "$steps/\(index).out" "$steps/\(index).expected" || [ $attempt -ge \(retries) ] || { attempt=$((attempt + 1)); sleep 0.1; continue; }
                break
                done

                """
        }
        return script
    }

    static let canRun =
        getuid() == 0 && (try? Tool.resolve("unshare")) != nil && (try? TestEtcd.executable()) != nil
        && (try? Tool.resolve("etcdctl")) != nil && (try? Tool.resolve("curl")) != nil && (try? Tool.resolve("dig")) != nil

    @Test(.enabled(if: canRun, "needs root, unshare(1), etcd, etcdctl, curl and dig"))
    func threeReplicasOnAThreeMemberEtcd() throws {
        let readme = try String(contentsOf: ExampleTests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let steps = try Self.steps("replicas", in: readme)
        #expect(steps.count > 20, "the walk-through was read: \(steps.count) steps")
        let folder = try TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/steps", withIntermediateDirectories: true)
        for (index, step) in steps.enumerated() {
            let expected = step.expected.map { $0 + "\n" }.joined()
            try expected.write(toFile: "\(folder.path)/steps/\(index).expected", atomically: true, encoding: .utf8)
        }
        let binaries = URL(fileURLWithPath: try SvcDNSProcess.binaryPath()).deletingLastPathComponent().path
        try Self.script(steps, folder: folder.path, binaries: binaries)
            .write(toFile: folder.path + "/walkthrough.sh", atomically: true, encoding: .utf8)

        // The shim gives the namespace a clean start: every signal unblocked (this process blocks SIGTERM, and
        // the walk-through stops servers with kill) and no inherited descriptor beyond 0-2. `timeout -s KILL`
        // bounds it all; when bash, the namespace's first process, ends, the kernel ends the rest.
        let shim = """
            import os, signal, sys
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.closerange(3, 65536)
            os.execvp(sys.argv[1], sys.argv[1:])
            """
        let run = try Tool.run(
            "timeout",
            [
                "-s", "KILL", "150", "python3", "-c", shim, "unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
                "bash", folder.path + "/walkthrough.sh",
            ],
            timeout: 160
        )
        #expect(run.status == 0, "the walk-through's shell: \(run.stdout)\(run.stderr)")
        for (index, step) in steps.enumerated() {
            let output = (try? String(contentsOfFile: "\(folder.path)/steps/\(index).out", encoding: .utf8)) ?? "(never ran)"
            let status = (try? String(contentsOfFile: "\(folder.path)/steps/\(index).status", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let expected = step.expected.map { $0 + "\n" }.joined()
            #expect(status == "0", "step \(index) exited \(status ?? "-"): \(step.command)\n\(output)")
            #expect(output == expected, "step \(index): \(step.command)")
        }
    }
}
