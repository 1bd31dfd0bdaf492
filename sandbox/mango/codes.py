"""Result codes from the spec's "Список кодов результатов" that the simulator answers with."""

from __future__ import annotations

SUCCESS = 1000  # Действие успешно выполнено
NORMAL_END = 1100  # Вызов завершен в нормальном режиме
CALLER_HUNG_UP = 1110  # Вызов завершен вызывающим абонентом
NO_ANSWER = 1111  # Вызов не получил ответа в течение времени ожидания
CALLEE_HUNG_UP = 1120  # Вызов завершен вызываемым абонентом
GROUP_CALL_FAILED = 1160  # Вызов на группу не удался
ENDED_BY_SCHEME = 1170  # Вызов завершен согласно схеме переадресации
ENDED_BY_API = 1181  # Вызов завершен по команде из внешней системы
PICKED_BY_OTHER = 1182  # Вызов завершен перехватом на другого оператора
NEW_OPERATOR = 1183  # Назначен новый оператор (при команде ApiConnect, обычно при переводах)
BAD_PARAMETERS = 3100  # Переданы неверные параметры команды
NOT_POST = 3101  # Запрос выполнен по методу, отличному от POST
BAD_SIGN = 3102  # Значение ключа не соответствуют рассчитанному
MISSING_PARAMETER = 3103  # В запросе отсутствует обязательный параметр
BAD_FORMAT = 3104  # Параметр передан в неправильном формате
BAD_API_KEY = 3105  # Неверный ключ доступа
WRONG_NUMBER = 3200  # Неверно указан номер абонента
NO_OBJECT = 3300  # Объект не существует
NO_RECORDING = 3320  # Запись разговора не найдена
NO_NUMBER = 3330  # Номер не найден у ВАТС или сотрудника
IMPOSSIBLE = 4100  # Выполнить команду по логике работы ВАТС невозможно
CALL_GONE = 4101  # Вызов завершен либо не существует
SMS_FAILED = 4300  # SMS сообщение отправить не удалось
SERVER_ERROR = 5000  # Ошибка сервера

RATE_LIMIT_BODY = {
    "name": "Service Unavailable",
    "message": "Rate limit exceeded.",
    "code": 0,
    "status": 503,
}
"""The body of HTTP 503 when a limit of section 1.4.1 is exceeded."""
