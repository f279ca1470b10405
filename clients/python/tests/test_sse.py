import io
import unittest

from longhaul import frames


class FramesTest(unittest.TestCase):
    def test_parses_events_ids_retry_comments_and_multiline_data(self):
        stream = io.BytesIO(
            b"retry: 2000\n\n"
            b": keep-alive\n\n"
            b"event: snapshot\nid: 3\ndata: {\"a\":\ndata: 1}\n\n"
            b"id: 4\ndata:plain\r\n\r\n"
        )
        got = list(frames(stream))
        self.assertEqual(got[0].retry, 2000)
        self.assertIsNone(got[0].event)
        self.assertEqual(got[1].comments, ["keep-alive"])
        self.assertEqual((got[2].event, got[2].id, got[2].data), ("snapshot", "3", '{"a":\n1}'))
        self.assertEqual((got[3].event, got[3].id, got[3].data), ("message", "4", "plain"))

    def test_a_frame_cut_off_before_its_blank_line_is_not_yielded(self):
        self.assertEqual(list(frames(io.BytesIO(b"event: status\ndata: {}\n"))), [])


if __name__ == "__main__":
    unittest.main()
