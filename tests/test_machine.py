"""agents.common.machine: the CPU named beside every wall time, read without torch."""

import subprocess
import sys

from agents.common.machine import cpu_name


def test_the_cpu_is_named_by_cpuinfos_model_name_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: Example\nmodel name\t: Example CPU 9000\n")
    assert cpu_name(cpuinfo) == "Example CPU 9000"


def test_without_cpuinfo_the_name_comes_from_platform_and_is_never_empty(tmp_path):
    assert cpu_name(tmp_path / "absent").strip() != ""


def test_the_name_is_read_where_torch_cannot_be_imported():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from agents.common.machine import cpu_name\n"
        "print(cpu_name())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == cpu_name()
