import io

import fastconv


def test_show_config_names_the_facts():
    buffer = io.StringIO()
    fastconv.show_config(file=buffer)
    text = buffer.getvalue()
    assert fastconv.__version__ in text
    for word in ("compiler", "openmp", "threads", "cpu features"):
        assert word in text


def test_config_reports_thread_count():
    assert fastconv._config.config()["threads"] == fastconv.get_num_threads()
