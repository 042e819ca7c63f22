"""Workbooks "encrypted" with Excel's built-in password, opened as Excel and WPS do.

Excel encrypts a workbook whose structure or sheets are protected (or that has a
password to modify) with the fixed password ``VelvetSweatshop`` ([MS-OFFCRYPTO] 2.3.7.1:
"the default password ... VelvetSweatshop"), and opens it again without asking; a unit
sees no password at all.  msoffcrypto-tool (a maintained implementation of
[MS-OFFCRYPTO]: ECMA-376 agile/standard for .xlsx, RC4, RC4 CryptoAPI and XOR for .xls)
decrypts it.  A workbook with a real password to open is held with a reason that says
so and how to remove it.
"""

from __future__ import annotations

import io

from worker.errors import FormUnreadable
from worker.form.limits import FormLimits, check_size

DEFAULT_PASSWORD = "VelvetSweatshop"  # noqa: S105 (a published constant, not a secret)
LOCKED = (
    "附件设置了打开密码，学院无法打开。请在 Excel 中点“文件→信息→保护工作簿→用密码进行加密”，"
    "或在 WPS 中点“文件→文档加密→密码加密”，清空密码并保存后重新发送"
)
UNKNOWN_ENCRYPTION = "附件已加密，且加密方式无法识别，请取消密码后重新发送"


def decrypt_default(data: bytes, limits: FormLimits) -> bytes:
    """The workbook inside an encrypted .xlsx/.xls, opened with Excel's default password.

    Raises FormUnreadable: LOCKED for a real password, UNKNOWN_ENCRYPTION for
    a scheme or file msoffcrypto cannot handle, or the size limit on the result.
    """
    import msoffcrypto
    from msoffcrypto.exceptions import InvalidKeyError

    out = io.BytesIO()
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        office.load_key(password=DEFAULT_PASSWORD)
        office.decrypt(out)
    except InvalidKeyError as e:
        raise FormUnreadable(LOCKED) from e
    except Exception as e:  # third-party boundary: any other failure is "cannot open"
        raise FormUnreadable(UNKNOWN_ENCRYPTION) from e
    plain = out.getvalue()
    check_size(plain, limits)
    return plain
